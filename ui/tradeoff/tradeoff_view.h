// TradeoffView: the trade-off explorer (docs/studio.md §Trade-off explorer). A scatter of each
// run's final validation loss (or perplexity) against its effective weight bits per parameter
// (or its training memory), one graph per bit-width of a chosen tensor kind, the Pareto front as
// a step line, the runs left out listed under the plot. Clicking a point activates its run.
#pragma once

#include <QString>
#include <QWidget>

#include <cstdint>
#include <vector>

#include "charts/plot_theme.h"
#include "tradeoff/tradeoff_points.h"

class QComboBox;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QCPAbstractPlottable;

namespace lowbit::ui {

class TradeoffView : public QWidget {
    Q_OBJECT

public:
    explicit TradeoffView(QWidget* parent = nullptr);

    // Reads every run of the workspace at `root` now, again on refresh() and whenever shown.
    void setWorkspace(const QString& root);
    void refresh();
    // The runs to plot, as read_tradeoff_runs gives them (the tests hand them in directly).
    void setRuns(TradeoffRuns runs);

    void setAxes(TradeoffX x, TradeoffY y, TensorKind colour);
    void applyTheme();

    QCustomPlot* plot() const {
        return plot_;
    }

    // The points drawn, in the order of the data of scatterGraphs() (graph by graph, by x).
    const std::vector<TradeoffPoint>& points() const {
        return points_;
    }

    const std::vector<TradeoffPoint>& front() const {
        return front_;
    }

    // One graph per distinct bit-width of the colour kind, fewest bits first.
    const std::vector<QCPGraph*>& scatterGraphs() const {
        return scatter_graphs_;
    }

    QCPGraph* frontGraph() const {
        return front_graph_;
    }

    QLabel* skippedLabel() const {
        return skipped_label_;
    }

    QLabel* pointLabel() const {
        return point_label_;
    }

Q_SIGNALS:
    void runActivated(qint64 run_id);

protected:
    void changeEvent(QEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void redraw();
    // The point under `pos` (widget pixels of the plot), or nullptr.
    const TradeoffPoint* pointAt(const QPointF& pos) const;
    void onPlottableClick(QCPAbstractPlottable* plottable, int data_index, QMouseEvent* event);
    void onMouseMove(QMouseEvent* event);

    QString root_;
    TradeoffRuns runs_;
    std::vector<TradeoffPoint> points_;
    std::vector<TradeoffPoint> front_;
    std::vector<QCPGraph*> scatter_graphs_;
    QCPGraph* front_graph_ = nullptr;
    PlotTheme theme_;
    QComboBox* x_box_;
    QComboBox* y_box_;
    QComboBox* colour_box_;
    QCustomPlot* plot_;
    QLabel* point_label_;
    QLabel* skipped_label_;
};

}  // namespace lowbit::ui
