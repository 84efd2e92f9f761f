// The report of chosen runs as one PDF (docs/studio.md §Export and reports): a title page, the
// loss curves grouped by configuration, the config diff, the results with their differences to
// the baseline, the seed groups, the quantization health of the lowest-bit runs (underflow and
// SQNR heatmaps per tensor kind, the worst layers) and the trade-off scatter with its Pareto
// front. Each part is drawn by the studio's own view of it, read-only, in the light theme.
#pragma once

#include "lowbit/store/records.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

#include "report/report_pages.h"

namespace lowbit::ui {

struct ReportRequest {
    QString workspace;
    QStringList runs;  // ids or names, as `lowbit runs show` takes them
    QString out;       // the PDF
    // When set, every page is also drawn into page-NN.png there (a look without a PDF viewer).
    QString page_images;
};

struct ReportOutline {
    int pages = 0;
    std::vector<ReportSection> sections;
    std::vector<int64_t> runs;         // in the order reported
    std::vector<int64_t> health_runs;  // whose quantization health is shown
};

// How many configurations (the lowest-bit first, one run each) get health pages.
inline constexpr int kReportHealthRuns = 6;
// Rows of each worst-layers table (the worst first).
inline constexpr int kReportWorstLayers = 20;

// One run per configuration (lowbit_store's configuration_key; its oldest run), ordered by the
// lowest bit-width of any tensor kind, then by the bits summed over weights, activations and
// gradients (32 for a kind kept in full precision), fewest first, ties by id; unreadable recipes
// last.
std::vector<int64_t> runs_by_bits(const std::vector<store::RunRecord>& runs);

// Returns the process exit code: 0 written, 2 bad input (not a workspace, no runs, a run that
// does not exist, an output that cannot be written), 1 the PDF failed while drawing. `error` says
// what and where. Nothing is written unless the whole report is; the workspace is only read.
int write_report(const ReportRequest& request, QString& error, ReportOutline* outline = nullptr);

}  // namespace lowbit::ui
