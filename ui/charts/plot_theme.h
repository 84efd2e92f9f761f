// PlotTheme: QCustomPlot does not follow QPalette, so every chart is restyled from the
// application palette (background, axes, ticks, grid, legend) whenever the palette changes.
#pragma once

#include <QColor>
#include <QPalette>

class QCPColorGradient;
class QCPColorScale;
class QCustomPlot;

namespace lowbit::ui {

struct PlotTheme {
    QColor background;
    QColor foreground;
    QColor grid;
    QColor sub_grid;

    static PlotTheme fromPalette(const QPalette& palette);
    void apply(QCustomPlot& plot) const;
    void apply(QCPColorScale& scale) const;
    // The heatmaps' colours: dark blue through cyan and yellow to red. With
    // `lowest_is_background` the lowest value (a count heatmap's empty cell) is drawn as the plot
    // background, so unused bins vanish.
    QCPColorGradient heatmapGradient(bool lowest_is_background) const;
};

}  // namespace lowbit::ui
