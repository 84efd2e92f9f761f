// Headless rendering: one view of a workspace drawn offscreen at a fixed size (the runs view no
// taller than its rows need) into a PNG, with the data read synchronously (no worker thread), for
// screenshots, reports and tests.
#pragma once

#include <QSize>
#include <QString>
#include <QStringList>

namespace lowbit::ui {

struct SnapshotOptions {
    QString workspace;
    QString out;
    QString view;      // runs, editor, charts, histograms, compare, health, crossrun, tradeoff,
                       // qat-editor, qat-phases, qat-results
    QStringList runs;  // ids or names; empty: the runs shown by default
    QString layer;
    QString kind;
    QString metric;  // health: a metric key (sqnr_db, underflow, ...); empty: SQNR
    bool dark = false;
    QSize size{1400, 900};
};

// Returns the process exit code: 0 written, 2 bad input (unknown view, unknown run, layer or
// kind, no telemetry, not a workspace), 1 the file could not be written. `error` says what and
// where.
int render_snapshot(const SnapshotOptions& options, QString& error);

}  // namespace lowbit::ui
