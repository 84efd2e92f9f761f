#include "charts/scalar_chart.h"

#include <QMenu>
#include <QMouseEvent>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>

#include "export/plot_export.h"
#include "export/plot_export_menu.h"

namespace lowbit::ui {

namespace {

constexpr double kNonFiniteMarkY = 0.96;  // on the hidden 0..1 axis: the top edge
constexpr double kEventMarkY = 0.04;      // the bottom edge

RunStyle styleOf(const std::map<int64_t, RunStyle>& styles, int64_t run_id) {
    const auto found = styles.find(run_id);
    return found == styles.end() ? RunStyle{QColor(Qt::gray), QString::number(run_id), {}}
                                 : found->second;
}

// The extent of the data drawn against one axis.
struct Extent {
    bool found = false;
    QCPRange range;

    void add(const QCPRange& r) {
        range =
            found ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
        found = true;
    }
};

void fitValueAxis(QCPAxis* axis, const Extent& values) {
    if (!values.found) {
        return;
    }
    const QCPRange v = values.range;
    if (axis->scaleType() == QCPAxis::stLogarithmic) {
        axis->setRange(v.lower / 1.1, v.upper * 1.1);
        return;
    }
    const double pad =
        v.size() > 0 ? v.size() * 0.05 : std::max(1e-9, std::abs(v.lower) * 0.05 + 1e-9);
    axis->setRange(v.lower - pad, v.upper + pad);
}

void setLogScale(QCPAxis* axis, bool on) {
    axis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    axis->setTicker(on ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                       : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
}

QCPScatterStyle::ScatterShape eventShape(const QString& kind) {
    if (kind == QLatin1String("checkpoint")) {
        return QCPScatterStyle::ssDiamond;
    }
    if (kind == QLatin1String("eval")) {
        return QCPScatterStyle::ssCircle;
    }
    if (kind == QLatin1String("resumed")) {
        return QCPScatterStyle::ssTriangle;
    }
    if (kind == QLatin1String("stopped")) {
        return QCPScatterStyle::ssSquare;
    }
    if (kind == QLatin1String("alert")) {  // the divergence sentinel's
        return QCPScatterStyle::ssStar;
    }
    if (kind == QLatin1String("started")) {  // a fork's start: where it leaves its parent
        return QCPScatterStyle::ssPlus;
    }
    return QCPScatterStyle::ssCross;  // diverged, failed, killed
}

// The value of a graph's data at the point nearest to x (NaN when empty).
double valueNear(const QSharedPointer<QCPGraphDataContainer>& data, double x) {
    if (!data || data->isEmpty()) {
        return std::nan("");
    }
    auto it = data->findBegin(x, false);
    if (it == data->constEnd()) {
        --it;
    }
    auto best = it;
    if (it != data->constBegin()) {
        auto prev = it - 1;
        if (std::abs(prev->key - x) < std::abs(it->key - x)) {
            best = prev;
        }
    }
    return best->value;
}

}  // namespace

ScalarChart::ScalarChart(const QString& key, QWidget* parent) : QWidget(parent), key_(key) {
    setObjectName(QStringLiteral("chart:") + key);
    plot_ = new QCustomPlot(this);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_);
    setMinimumSize(320, 200);

    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot_, key, QFont(font().family(), 10, QFont::Bold)));
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setNoAntialiasingOnDrag(true);
    plot_->setNotAntialiasedElements(QCP::aePlottables);
    plot_->setPlottingHints(QCP::phCacheLabels);
    plot_->axisRect()->setRangeZoom(Qt::Horizontal);
    plot_->axisRect()->setRangeDrag(Qt::Horizontal);
    // The right axis belongs to the secondary key; the markers have a hidden axis of their own.
    plot_->yAxis2->setVisible(false);
    marker_axis_ = plot_->axisRect()->addAxis(QCPAxis::atRight);
    marker_axis_->setVisible(false);
    marker_axis_->grid()->setVisible(false);
    marker_axis_->setRange(0, 1);
    plot_->xAxis->setLabel(x_axis_label(XAxisKind::kStep));
    // The legend lists the smoothed, secondary and derived lines; it is shown only when a chart
    // has more than its own key's lines (its colours alone say which run is which).
    plot_->setAutoAddPlottableToLegend(false);
    plot_->legend->setVisible(false);
    QFont legend_font = font();
    legend_font.setPointSizeF(legend_font.pointSizeF() * 0.85);
    plot_->legend->setFont(legend_font);
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);

    menu_ = new QMenu(this);
    menu_button_ = new QToolButton(this);
    menu_button_->setObjectName(QStringLiteral("chartMenu"));
    menu_button_->setText(QStringLiteral("⋯"));
    menu_button_->setAutoRaise(true);
    menu_button_->setPopupMode(QToolButton::InstantPopup);
    menu_button_->setMenu(menu_);
    menu_button_->setToolTip(tr("Secondary axis, derived series, remove the chart"));

    // The cursor has a buffered layer of its own: moving it does not redraw the curves.
    plot_->addLayer(
        QStringLiteral("cursor"), plot_->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    plot_->layer(QStringLiteral("cursor"))->setMode(QCPLayer::lmBuffered);
    cursor_ = new QCPItemStraightLine(plot_);
    cursor_->setLayer(QStringLiteral("cursor"));
    cursor_->setPen(QPen(QColor(128, 128, 128), 1, Qt::DashLine));
    cursor_->setVisible(false);

    replot_timer_.setSingleShot(true);
    replot_timer_.setInterval(kReplotIntervalMs);
    connect(&replot_timer_, &QTimer::timeout, this, [this] {
        ++replots_;
        plot_->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
        if (!rescaling_) {
            onUserRangeChanged();
        }
    });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] { resetZoom(); });
    plot_->installEventFilter(this);
    plot_->setMouseTracking(true);
    install_plot_export_menu(plot_, key_, [this] {
        std::map<int64_t, QString> names;
        for (const auto& [run_id, style] : styles_) {
            names[run_id] = style.name;
        }
        return scalar_chart_csv(data_, names);
    });
    setTheme(PlotTheme::fromPalette(palette()));
}

void ScalarChart::requestReplot() {
    if (!replot_timer_.isActive()) {
        replot_timer_.start();
    }
}

void ScalarChart::setTheme(const PlotTheme& theme) {
    theme.apply(*plot_);
    requestReplot();
}

void ScalarChart::setChartData(const ChartData& chart_data,
                               const std::map<int64_t, RunStyle>& styles) {
    data_ = chart_data;
    styles_ = styles;
    plot_->clearGraphs();
    // Floor lines are the only items besides the cursor.
    for (int i = plot_->itemCount() - 1; i >= 0; --i) {
        if (plot_->item(i) != cursor_) {
            plot_->removeItem(i);
        }
    }
    non_finite_markers_ = 0;
    event_markers_ = 0;
    floor_lines_ = 0;
    plot_->xAxis->setLabel(x_axis_label(chart_data.x_axis));
    const bool is_loss = key_.contains(QLatin1String("loss"));
    for (const RunChartData& run : chart_data.runs) {
        const RunStyle style = styleOf(styles, run.run_id);
        QColor faint = style.colour;
        faint.setAlpha(60);
        QCPGraph* raw = plot_->addGraph();
        raw->setData(run.raw);
        raw->setPen(QPen(faint, 1));
        raw->setName(style.name + QStringLiteral(" (raw)"));
        raw->setProperty("role", QStringLiteral("raw"));
        QCPGraph* smooth = plot_->addGraph();
        smooth->setData(run.smoothed);
        smooth->setPen(QPen(style.colour, 1));
        smooth->setName(style.name);
        smooth->setProperty("role", QStringLiteral("smoothed"));
        smooth->setProperty("run", QVariant::fromValue<qint64>(run.run_id));
        smooth->addToLegend();

        if (!run.non_finite_x.isEmpty()) {
            QCPGraph* marks = plot_->addGraph(plot_->xAxis, marker_axis_);
            marks->setLineStyle(QCPGraph::lsNone);
            marks->setScatterStyle(QCPScatterStyle(
                QCPScatterStyle::ssTriangleInverted, style.colour, style.colour, 8));
            marks->setData(
                run.non_finite_x, QVector<double>(run.non_finite_x.size(), kNonFiniteMarkY), true);
            marks->setProperty("role", QStringLiteral("non-finite"));
            non_finite_markers_ += static_cast<int>(run.non_finite_x.size());
        }
        std::map<QString, QVector<double>> by_kind;
        for (const EventMark& mark : run.events) {
            by_kind[mark.kind].push_back(mark.x);
        }
        for (const auto& [kind, xs] : by_kind) {
            QCPGraph* marks = plot_->addGraph(plot_->xAxis, marker_axis_);
            marks->setLineStyle(QCPGraph::lsNone);
            marks->setScatterStyle(QCPScatterStyle(eventShape(kind), style.colour, 7));
            marks->setData(xs, QVector<double>(xs.size(), kEventMarkY), true);
            marks->setProperty("role", QStringLiteral("event:") + kind);
            event_markers_ += static_cast<int>(xs.size());
        }
        if (is_loss && style.loss_floor) {
            auto* floor = new QCPItemStraightLine(plot_);
            floor->point1->setCoords(0, *style.loss_floor);
            floor->point2->setCoords(1, *style.loss_floor);
            floor->setPen(QPen(style.colour, 1, Qt::DashLine));
            floor->setProperty("role", QStringLiteral("floor"));
            ++floor_lines_;
        }
    }
    const bool has_secondary = !chart_data.secondary_key.isEmpty();
    plot_->yAxis2->setVisible(has_secondary);
    plot_->yAxis2->setLabel(chart_data.secondary_key);
    for (const RunChartData& run : chart_data.secondary) {
        addSecondaryGraphs(run, styleOf(styles, run.run_id));
    }
    for (const DerivedCurve& curve : chart_data.derived) {
        const RunStyle style = styleOf(styles, curve.run_id);
        QCPGraph* graph = plot_->addGraph();
        graph->setData(curve.points);
        graph->setPen(QPen(style.colour, 1.5, Qt::DotLine));
        graph->setName(style.name + QLatin1Char(' ') +
                       QString::fromStdString(derived_suffix(curve.spec)));
        graph->setProperty("role", QStringLiteral("derived"));
        graph->setProperty("run", QVariant::fromValue<qint64>(curve.run_id));
        graph->addToLegend();
    }
    plot_->legend->setVisible(has_secondary || !chart_data.derived.empty());
    // While zoomed the x range and the left axis stay where the person put them; the right axis
    // is not zoomable and always fits its data.
    rescale(!zoomed_);
    requestReplot();
}

void ScalarChart::addSecondaryGraphs(const RunChartData& run, const RunStyle& style) {
    QColor faint = style.colour;
    faint.setAlpha(60);
    QCPGraph* raw = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
    raw->setData(run.raw);
    raw->setPen(QPen(faint, 1, Qt::DashLine));
    raw->setProperty("role", QStringLiteral("secondary-raw"));
    raw->setProperty("run", QVariant::fromValue<qint64>(run.run_id));
    QCPGraph* smooth = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
    smooth->setData(run.smoothed);
    smooth->setPen(QPen(style.colour, 1.5, Qt::DashLine));
    smooth->setName(style.name + QStringLiteral(" · ") + data_.secondary_key +
                    QStringLiteral(" (right)"));
    smooth->setProperty("role", QStringLiteral("secondary"));
    smooth->setProperty("run", QVariant::fromValue<qint64>(run.run_id));
    smooth->addToLegend();
}

void ScalarChart::rescale(bool fit_left) {
    rescaling_ = true;
    Extent keys;
    Extent left;
    Extent right;
    for (int i = 0; i < plot_->graphCount(); ++i) {
        QCPGraph* graph = plot_->graph(i);
        QCPAxis* axis = graph->valueAxis();
        if (axis == marker_axis_) {
            continue;
        }
        bool ok = false;
        const QCPRange k = graph->getKeyRange(ok);
        if (!ok) {
            continue;
        }
        keys.add(k);
        const QCP::SignDomain domain =
            axis->scaleType() == QCPAxis::stLogarithmic ? QCP::sdPositive : QCP::sdBoth;
        bool vok = false;
        const QCPRange v = graph->getValueRange(vok, domain);
        if (vok) {
            (axis == plot_->yAxis ? left : right).add(v);
        }
    }
    for (int i = 0; i < plot_->itemCount(); ++i) {
        if (auto* line = qobject_cast<QCPItemStraightLine*>(plot_->item(i));
            line && line != cursor_ && keys.found) {
            const double y = line->point1->coords().y();
            left.add(QCPRange(y, y));
        }
    }
    if (keys.found) {
        QCPRange k = keys.range;
        if (k.size() == 0) {
            k = QCPRange(k.lower - 0.5, k.upper + 0.5);
        }
        if (!zoomed_) {  // a log toggle while zoomed keeps the zoomed x range
            plot_->xAxis->setRange(k);
        }
        if (fit_left) {
            fitValueAxis(plot_->yAxis, left);
        }
        fitValueAxis(plot_->yAxis2, right);
    }
    rescaling_ = false;
}

int ScalarChart::pixelColumns() const {
    // Before its first layout (a zoom restored from a saved layout) the plot has no real width:
    // ask for the usual resolution rather than a few columns.
    const int width = plot_->axisRect()->width();
    return width >= 100 ? width : ChartRequest{}.pixel_columns;
}

std::pair<double, double> ScalarChart::xRange() const {
    return {plot_->xAxis->range().lower, plot_->xAxis->range().upper};
}

std::pair<double, double> ScalarChart::yRange() const {
    return {plot_->yAxis->range().lower, plot_->yAxis->range().upper};
}

void ScalarChart::setZoom(std::pair<double, double> x, std::optional<std::pair<double, double>> y) {
    rescaling_ = true;
    plot_->xAxis->setRange(x.first, x.second);
    if (y) {
        plot_->yAxis->setRange(y->first, y->second);
    }
    rescaling_ = false;
    zoomed_ = true;
    Q_EMIT viewChanged(key_, true, x.first, x.second, pixelColumns());
    requestReplot();
}

void ScalarChart::onUserRangeChanged() {
    zoomed_ = true;
    const QCPRange r = plot_->xAxis->range();
    Q_EMIT viewChanged(key_, true, r.lower, r.upper, pixelColumns());
    Q_EMIT activated(key_);
}

void ScalarChart::resetZoom() {
    zoomed_ = false;
    Q_EMIT viewChanged(key_, false, 0, 0, pixelColumns());
    rescale(true);
    requestReplot();
}

void ScalarChart::setLogY(bool on) {
    setLogScale(plot_->yAxis, on);
    rescale(true);
    requestReplot();
}

void ScalarChart::setLogX(bool on) {
    setLogScale(plot_->xAxis, on);
    rescale(true);
    requestReplot();
}

void ScalarChart::setLogY2(bool on) {
    setLogScale(plot_->yAxis2, on);
    rescale(true);
    requestReplot();
}

void ScalarChart::setCursorX(double x) {
    cursor_->setVisible(std::isfinite(x));
    if (std::isfinite(x)) {
        cursor_->point1->setCoords(x, 0);
        cursor_->point2->setCoords(x, 1);
    }
    plot_->layer(QStringLiteral("cursor"))->replot();
}

int ScalarChart::nonFiniteMarkerCount() const {
    return non_finite_markers_;
}

int ScalarChart::eventMarkerCount() const {
    return event_markers_;
}

int ScalarChart::floorLineCount() const {
    return floor_lines_;
}

void ScalarChart::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    menu_button_->move(width() - menu_button_->sizeHint().width() - 2, 2);
    menu_button_->raise();
}

bool ScalarChart::eventFilter(QObject* watched, QEvent* event) {
    if (watched == plot_ && event->type() == QEvent::MouseMove) {
        auto* move = static_cast<QMouseEvent*>(event);
        const double x = plot_->xAxis->pixelToCoord(move->position().x());
        Q_EMIT cursorMoved(x);
        // Tooltip: raw and smoothed value of each run at the cursor.
        QString text = QStringLiteral("<b>%1</b> %2 = %3")
                           .arg(key_.toHtmlEscaped(), x_axis_label(data_.x_axis))
                           .arg(x, 0, 'g', 6);
        for (const RunChartData& run : data_.runs) {
            const auto style = styles_.find(run.run_id);
            const QString name =
                style == styles_.end() ? QString::number(run.run_id) : style->second.name;
            const QColor colour = style == styles_.end() ? QColor(Qt::gray) : style->second.colour;
            text += QStringLiteral("<br><span style='color:%1'>&#9632;</span> %2: %3 (raw %4)")
                        .arg(colour.name(), name.toHtmlEscaped())
                        .arg(valueNear(run.smoothed, x), 0, 'g', 5)
                        .arg(valueNear(run.raw, x), 0, 'g', 5);
        }
        QToolTip::showText(move->globalPosition().toPoint(), text, plot_);
    } else if (watched == plot_ && event->type() == QEvent::Leave) {
        Q_EMIT cursorMoved(std::nan(""));
    } else if (watched == plot_ && event->type() == QEvent::MouseButtonPress) {
        Q_EMIT activated(key_);
    }
    return QWidget::eventFilter(watched, event);
}

}  // namespace lowbit::ui
