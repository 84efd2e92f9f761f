// The live demo of `lowbit-studio --demo`: the engine's built-in default recipe (a tiny GPT-2 on
// builtin:markov, `lowbit train` without a recipe) launched through the RunLauncher into the demo
// workspace, so a newcomer watches a real run's curves fill in. With a display the main window
// opens on it; without one the run trains headless, its progress goes to stdout, and snapshots of
// its views are written next to the workspace (docs/studio.md §The demo).
#pragma once

#include <QString>
#include <QStringList>

class QTextStream;

namespace lowbit::ui {

// <data home>/lowbit/demo-workspace: beside the default workspace (XDG_DATA_HOME, else
// ~/.local/share), so demo runs never mix with a person's own.
QString demo_workspace_root();

// Whether windows can be shown: a DISPLAY or WAYLAND_DISPLAY is set and QT_QPA_PLATFORM does not
// ask for the offscreen platform.
bool display_available();

// The `lowbit train` options of a demo run: the recipe's telemetry made frequent enough that
// histograms exist after the first steps (the default records every 100 steps), then `extra` (the
// caller's options, which come last so their --set wins).
QStringList demo_train_options(const QStringList& extra);

struct HeadlessDemoOptions {
    QString workspace;
    QString engine;  // the lowbit executable; empty: none found
    QStringList extra;
    bool dark = false;
};

// Trains the demo without a window (a short run: train.steps=300 unless `extra` sets it), reports
// progress on `out`, then writes PNG snapshots of the charts (and the histograms where that view
// exists) of the new run into <workspace>/snapshots/ and prints their paths. Returns the process
// exit code: 0 done, 1 the engine failed or a snapshot could not be written, 2 bad input.
int run_headless_demo(const HeadlessDemoOptions& options, QTextStream& out);

}  // namespace lowbit::ui
