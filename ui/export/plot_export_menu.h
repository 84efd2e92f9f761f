// The context menu every plot of the studio carries (docs/studio.md §Export and reports): Export
// PNG, PNG 2×, PDF and CSV, each through a save dialog, a failure shown in a message box.
#pragma once

#include <QString>

#include <functional>

class QCustomPlot;

namespace lowbit::ui {

// The CSV a plot exports; plot_csv() of the plot when none is given.
using PlotCsvSource = std::function<QString()>;

// `name`: the suggested file name without extension.
void install_plot_export_menu(QCustomPlot* plot, const QString& name, PlotCsvSource csv = {});

}  // namespace lowbit::ui
