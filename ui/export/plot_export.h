// Writing what a plot draws to a file (docs/studio.md §Export and reports): PNG at a device pixel
// ratio, vector PDF, and CSV of the plotted data. Every writer either leaves a complete file at
// `path` or none (a write goes to a temporary file beside it that replaces `path` at the end) and
// returns an empty string on success, else what failed and where.
#pragma once

#include <QString>

#include <cstdint>
#include <map>

#include "charts/chart_series_builder.h"
#include "charts/qcustomplot_include.h"

namespace lowbit::ui {

// The plot at its on-screen size times `scale` (2: twice the pixels in each direction).
QString export_plot_png(QCustomPlot& plot, const QString& path, double scale = 1.0);
QString export_plot_pdf(QCustomPlot& plot, const QString& path);
QString export_csv(const QString& csv, const QString& path);

// A scalar chart as drawn: per run and x value, the raw and the smoothed value taken from the
// drawn containers (a cell stays empty where decimation kept that x in one series only).
// Columns: run_id, run, x_axis, x, raw, smoothed. `names`: the run names (else the id).
QString scalar_chart_csv(const ChartData& data, const std::map<int64_t, QString>& names);

// Every visible plottable of a plot in long form. Columns: series, role, run_id, x, x_label, y,
// y_label, value. A graph, curve or bar gives one row per point (value empty); a colour map one
// row per cell with its value, labelled from the map's "x_labels" / "y_labels" properties (a
// QStringList per cell index) or else the axes' text ticks.
QString plot_csv(QCustomPlot& plot);

}  // namespace lowbit::ui
