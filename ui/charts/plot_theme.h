// PlotTheme: QCustomPlot does not follow QPalette, so every chart is restyled from the
// application palette (background, axes, ticks, grid, legend) whenever the palette changes.
#pragma once

#include <QColor>
#include <QPalette>

class QCustomPlot;

namespace lowbit::ui {

struct PlotTheme {
    QColor background;
    QColor foreground;
    QColor grid;
    QColor sub_grid;

    static PlotTheme fromPalette(const QPalette& palette);
    void apply(QCustomPlot& plot) const;
};

}  // namespace lowbit::ui
