#include "charts/plot_theme.h"

#include "charts/qcustomplot_include.h"

namespace lowbit::ui {

PlotTheme PlotTheme::fromPalette(const QPalette& palette) {
    PlotTheme theme;
    theme.background = palette.color(QPalette::Base);
    theme.foreground = palette.color(QPalette::Text);
    const bool dark = theme.background.lightness() < 128;
    theme.grid = dark ? QColor(255, 255, 255, 40) : QColor(0, 0, 0, 35);
    theme.sub_grid = dark ? QColor(255, 255, 255, 18) : QColor(0, 0, 0, 15);
    return theme;
}

void PlotTheme::apply(QCustomPlot& plot) const {
    plot.setBackground(background);
    // Every axis rect: a plot may stack several (the EfficientQAT phase view has three).
    for (QCPAxisRect* rect : plot.axisRects()) {
        for (QCPAxis* axis : rect->axes()) {
            const QPen pen(foreground, 1);
            axis->setBasePen(pen);
            axis->setTickPen(pen);
            axis->setSubTickPen(pen);
            axis->setTickLabelColor(foreground);
            axis->setLabelColor(foreground);
            axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
            axis->grid()->setSubGridPen(QPen(sub_grid, 1, Qt::DotLine));
            axis->grid()->setZeroLinePen(Qt::NoPen);
        }
    }
    if (plot.legend != nullptr) {  // none once a custom layout removed the default axis rect
        plot.legend->setBrush(background);
        plot.legend->setTextColor(foreground);
        plot.legend->setBorderPen(QPen(grid));
    }
    for (int i = 0; i < plot.plotLayout()->elementCount(); ++i) {
        if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->elementAt(i))) {
            title->setTextColor(foreground);
        }
    }
}

void PlotTheme::apply(QCPColorScale& scale) const {
    QCPAxis* axis = scale.axis();
    axis->setBasePen(QPen(foreground));
    axis->setTickPen(QPen(foreground));
    axis->setSubTickPen(QPen(foreground));
    axis->setTickLabelColor(foreground);
    axis->setLabelColor(foreground);
}

QCPColorGradient PlotTheme::heatmapGradient(bool lowest_is_background) const {
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setColorStopAt(0.0, lowest_is_background ? background : QColor(48, 18, 120));
    gradient.setColorStopAt(0.001, QColor(48, 18, 120));
    gradient.setColorStopAt(0.3, QColor(40, 110, 220));
    gradient.setColorStopAt(0.55, QColor(30, 200, 190));
    gradient.setColorStopAt(0.75, QColor(235, 215, 40));
    gradient.setColorStopAt(1.0, QColor(200, 30, 20));
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    return gradient;
}

}  // namespace lowbit::ui
