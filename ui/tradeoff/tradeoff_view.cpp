#include "tradeoff/tradeoff_view.h"

#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/workspace.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QShowEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>

#include "charts/qcustomplot_include.h"
#include "export/plot_export_menu.h"
#include "models/runs_model.h"

namespace lowbit::ui {

namespace {

// A point counts as hovered within this many pixels of the cursor.
constexpr double kHoverPixels = 8;

QString xAxisLabel(TradeoffX x) {
    return x == TradeoffX::kBitsPerParameter
               ? QObject::tr("Effective weight bits per parameter")
               : QObject::tr("Training memory, weights + AdamW state (MB)");
}

QString yAxisLabel(TradeoffY y) {
    return y == TradeoffY::kValLoss ? QObject::tr("Final val/loss (nats)")
                                    : QObject::tr("Final val perplexity");
}

}  // namespace

TradeoffView::TradeoffView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("tradeoffView"));
    x_box_ = new QComboBox;
    x_box_->setObjectName(QStringLiteral("tradeoffX"));
    x_box_->addItem(tr("Bits per parameter"), static_cast<int>(TradeoffX::kBitsPerParameter));
    x_box_->addItem(tr("Memory (MB)"), static_cast<int>(TradeoffX::kMemoryMegabytes));
    y_box_ = new QComboBox;
    y_box_->setObjectName(QStringLiteral("tradeoffY"));
    y_box_->addItem(tr("Val loss"), static_cast<int>(TradeoffY::kValLoss));
    y_box_->addItem(tr("Perplexity"), static_cast<int>(TradeoffY::kPerplexity));
    colour_box_ = new QComboBox;
    colour_box_->setObjectName(QStringLiteral("tradeoffColour"));
    colour_box_->addItem(tr("Weight bits"), static_cast<int>(TensorKind::kWeight));
    colour_box_->addItem(tr("Activation bits"), static_cast<int>(TensorKind::kActivation));
    colour_box_->addItem(tr("Output-gradient bits"), static_cast<int>(TensorKind::kGradOutput));
    colour_box_->addItem(tr("AdamW m bits"), static_cast<int>(TensorKind::kOptimM));
    colour_box_->addItem(tr("AdamW v bits"), static_cast<int>(TensorKind::kOptimV));
    auto* refresh_button = new QPushButton(tr("Refresh"));
    refresh_button->setObjectName(QStringLiteral("tradeoffRefresh"));

    plot_ = new QCustomPlot;
    plot_->setObjectName(QStringLiteral("tradeoffPlot"));
    install_plot_export_menu(plot_, QStringLiteral("tradeoff"));
    plot_->setMinimumSize(320, 240);
    plot_->legend->setVisible(true);
    // Top centre: the corners hold the full-precision runs (right) and the lowest bit-widths.
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignHCenter);
    plot_->setMouseTracking(true);
    point_label_ = new QLabel;
    point_label_->setObjectName(QStringLiteral("tradeoffPoint"));
    skipped_label_ = new QLabel;
    skipped_label_->setObjectName(QStringLiteral("tradeoffSkipped"));
    skipped_label_->setWordWrap(true);

    auto* pickers = new QHBoxLayout;
    pickers->addWidget(new QLabel(tr("X")));
    pickers->addWidget(x_box_);
    pickers->addWidget(new QLabel(tr("Y")));
    pickers->addWidget(y_box_);
    pickers->addWidget(new QLabel(tr("Colour")));
    pickers->addWidget(colour_box_);
    pickers->addStretch(1);
    pickers->addWidget(refresh_button);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(pickers);
    layout->addWidget(plot_, 1);
    layout->addWidget(point_label_);
    layout->addWidget(skipped_label_);

    for (QComboBox* box : {x_box_, y_box_, colour_box_}) {
        connect(box, &QComboBox::currentIndexChanged, this, &TradeoffView::redraw);
    }
    connect(refresh_button, &QPushButton::clicked, this, &TradeoffView::refresh);
    connect(plot_, &QCustomPlot::plottableClick, this, &TradeoffView::onPlottableClick);
    connect(plot_, &QCustomPlot::mouseMove, this, &TradeoffView::onMouseMove);
    applyTheme();
}

void TradeoffView::setWorkspace(const QString& root) {
    root_ = root;
    refresh();
}

void TradeoffView::refresh() {
    if (root_.isEmpty()) {
        return;
    }
    try {
        const auto workspace = store::open_for_reading(root_.toStdString());
        const store::RunReader reader(workspace);
        setRuns(read_tradeoff_runs(reader));
    } catch (const std::exception& error) {
        setRuns({});
        skipped_label_->setText(tr("Cannot read the workspace %1: %2")
                                    .arg(root_, QString::fromStdString(error.what())));
    }
}

void TradeoffView::setRuns(TradeoffRuns runs) {
    runs_ = std::move(runs);
    QStringList skipped;
    for (const SkippedRun& run : runs_.skipped) {
        skipped << tr("%1 (#%2): %3")
                       .arg(QString::fromStdString(run.name))
                       .arg(run.run_id)
                       .arg(QString::fromStdString(run.reason));
    }
    skipped_label_->setText(
        skipped.isEmpty() ? QString() : tr("Left out: %1").arg(skipped.join(QStringLiteral("; "))));
    redraw();
}

void TradeoffView::setAxes(TradeoffX x, TradeoffY y, TensorKind colour) {
    const QSignalBlocker block_x(x_box_), block_y(y_box_), block_colour(colour_box_);
    x_box_->setCurrentIndex(x_box_->findData(static_cast<int>(x)));
    y_box_->setCurrentIndex(y_box_->findData(static_cast<int>(y)));
    colour_box_->setCurrentIndex(colour_box_->findData(static_cast<int>(colour)));
    redraw();
}

void TradeoffView::applyTheme() {
    theme_ = PlotTheme::fromPalette(palette());
    theme_.apply(*plot_);
    redraw();
}

void TradeoffView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        applyTheme();
    }
}

void TradeoffView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh();
}

void TradeoffView::redraw() {
    const auto x = static_cast<TradeoffX>(x_box_->currentData().toInt());
    const auto y = static_cast<TradeoffY>(y_box_->currentData().toInt());
    const auto colour = static_cast<TensorKind>(colour_box_->currentData().toInt());

    std::vector<TradeoffPoint> points;
    points.reserve(runs_.runs.size());
    for (const TradeoffRun& run : runs_.runs) {
        points.push_back(tradeoff_point(run, x, y, colour));
    }
    // Graph by graph (fewest bits first), by x within a graph: the order of each graph's data.
    std::stable_sort(points.begin(), points.end(), [](const auto& a, const auto& b) {
        return a.colour_bits != b.colour_bits ? a.colour_bits < b.colour_bits : a.x < b.x;
    });
    points_ = std::move(points);
    front_ = pareto_front(points_);

    plot_->clearGraphs();
    scatter_graphs_.clear();
    for (size_t i = 0; i < points_.size();) {
        const int bits = points_[i].colour_bits;
        QVector<double> keys, values;
        for (; i < points_.size() && points_[i].colour_bits == bits; ++i) {
            keys.push_back(points_[i].x);
            values.push_back(points_[i].y);
        }
        QCPGraph* graph = plot_->addGraph();
        graph->setName(QString::fromStdString(kind_bits_label(colour, bits)));
        // The run palette's hues, one per bit-width in order.
        const QColor hue = RunsModel::colourOf(static_cast<int64_t>(scatter_graphs_.size()) + 1);
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, hue, hue, 9));
        graph->setData(keys, values, true);
        scatter_graphs_.push_back(graph);
    }
    front_graph_ = plot_->addGraph();
    front_graph_->setName(tr("Pareto front"));
    // Lower is better on both axes: each front point holds its loss until the next, cheaper in
    // loss and dearer in x, takes over.
    front_graph_->setLineStyle(QCPGraph::lsStepLeft);
    front_graph_->setPen(QPen(theme_.foreground, 1.5, Qt::DashLine));
    front_graph_->setSelectable(QCP::stNone);
    QVector<double> front_keys, front_values;
    for (const TradeoffPoint& point : front_) {
        front_keys.push_back(point.x);
        front_values.push_back(point.y);
    }
    front_graph_->setData(front_keys, front_values, true);

    plot_->xAxis->setLabel(xAxisLabel(x));
    plot_->yAxis->setLabel(yAxisLabel(y));
    plot_->rescaleAxes();
    // Room around the outermost points so their markers are not cut.
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        const QCPRange range = axis->range();
        const double pad = range.size() > 0 ? 0.08 * range.size() : 0.5;
        axis->setRange(range.lower - pad, range.upper + pad);
    }
    theme_.apply(*plot_);
    plot_->replot();
}

const TradeoffPoint* TradeoffView::pointAt(const QPointF& pos) const {
    const TradeoffPoint* nearest = nullptr;
    double best = kHoverPixels;
    for (const TradeoffPoint& point : points_) {
        const double dx = plot_->xAxis->coordToPixel(point.x) - pos.x();
        const double dy = plot_->yAxis->coordToPixel(point.y) - pos.y();
        const double distance = std::hypot(dx, dy);
        if (distance <= best) {
            best = distance;
            nearest = &point;
        }
    }
    return nearest;
}

void TradeoffView::onPlottableClick(QCPAbstractPlottable* /*plottable*/,
                                    int /*data_index*/,
                                    QMouseEvent* event) {
    // QCustomPlot reports the topmost plottable, which is the front's line wherever it passes
    // through a point: the run is the point nearest the cursor, whichever graph was hit.
    const TradeoffPoint* point = pointAt(event->position());
    if (point == nullptr) {
        return;
    }
    point_label_->setText(tr("%1 (#%2): x %3, y %4")
                              .arg(QString::fromStdString(point->name))
                              .arg(point->run_id)
                              .arg(point->x, 0, 'g', 5)
                              .arg(point->y, 0, 'g', 5));
    Q_EMIT runActivated(point->run_id);
}

void TradeoffView::onMouseMove(QMouseEvent* event) {
    const TradeoffPoint* point = pointAt(event->position());
    if (point == nullptr) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("%1\nx %2, y %3")
                           .arg(QString::fromStdString(point->name))
                           .arg(point->x, 0, 'g', 5)
                           .arg(point->y, 0, 'g', 5),
                       plot_);
}

}  // namespace lowbit::ui
