#include "health/health_view.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "charts/colour_range.h"
#include "charts/qcustomplot_include.h"
#include "export/plot_export_menu.h"
#include "health/cross_run_reader.h"
#include "health/cross_run_view.h"
#include "health/worst_layers_model.h"
#include "histograms/histogram_math.h"
#include "models/runs_model.h"
#include "widgets/run_picker.h"

namespace lowbit::ui {

namespace {

constexpr int kStepLabels = 12;  // at most this many step numbers under the heatmap

QCPTextElement* titleOf(QCustomPlot* plot) {
    return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
}

}  // namespace

HealthView::HealthView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("healthView"));
    buildControls();
    applyTheme();
    if (runs_ != nullptr) {
        connect(runs_, &RunsModel::runsChanged, this, &HealthView::refreshRuns);
        refreshRuns();
    }
}

HealthView::~HealthView() {
    if (thread_.isRunning()) {
        thread_.quit();
        thread_.wait();
    }
}

void HealthView::buildControls() {
    auto* page = new QWidget;
    auto* page_layout = new QVBoxLayout(page);
    page_layout->setContentsMargins(0, 0, 0, 0);
    auto* pickers = new QHBoxLayout;
    run_box_ = new QComboBox;
    run_box_->setObjectName(QStringLiteral("healthRun"));
    run_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    run_box_->setMinimumContentsLength(14);
    kind_box_ = new QComboBox;
    kind_box_->setObjectName(QStringLiteral("healthKind"));
    for (const std::string& kind : tensor_kinds()) {
        kind_box_->addItem(QString::fromStdString(tensor_kind_short(kind) + "  (" + kind + ")"),
                           QString::fromStdString(kind));
    }
    metric_box_ = new QComboBox;
    metric_box_->setObjectName(QStringLiteral("healthMetric"));
    for (const auto& info : health_metrics()) {
        metric_box_->addItem(QString::fromStdString(health_metric_label(info.metric)),
                             static_cast<int>(info.metric));
    }
    pickers->addWidget(new QLabel(tr("Run")));
    pickers->addWidget(run_box_, 1);
    pickers->addWidget(new QLabel(tr("Tensor")));
    pickers->addWidget(kind_box_);
    pickers->addWidget(new QLabel(tr("Metric")));
    pickers->addWidget(metric_box_);
    page_layout->addLayout(pickers);
    message_ = new QLabel;
    message_->setObjectName(QStringLiteral("healthMessage"));
    message_->setWordWrap(true);
    message_->setVisible(false);
    page_layout->addWidget(message_);

    plot_ = new QCustomPlot;
    plot_->setObjectName(QStringLiteral("healthHeatmap"));
    install_plot_export_menu(plot_, QStringLiteral("health-heatmap"));
    plot_->setMinimumHeight(220);
    plot_->plotLayout()->insertRow(0);
    plot_->plotLayout()->addElement(
        0, 0, new QCPTextElement(plot_, QString(), QFont(font().family(), 10, QFont::Bold)));
    plot_->xAxis->setLabel(tr("step"));
    plot_->yAxis->setRangeReversed(true);  // the first layer on top
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
    plot_->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
    plot_->yAxis->setTickLabelFont(QFont(font().family(), 8));
    colour_scale_ = new QCPColorScale(plot_);
    colour_scale_->setType(QCPAxis::atRight);
    colour_scale_->setBarWidth(12);
    plot_->plotLayout()->addElement(1, 1, colour_scale_);
    auto* margins = new QCPMarginGroup(plot_);
    plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    colour_scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);

    worst_model_ = new WorstLayersModel(this);
    worst_proxy_ = new WorstLayersProxy(this);
    worst_proxy_->setSourceModel(worst_model_);
    table_ = new QTableView;
    table_->setObjectName(QStringLiteral("healthWorstLayers"));
    table_->setModel(worst_proxy_);
    table_->setSortingEnabled(true);
    // Worst first; for SQNR, the first metric, that is the lowest first.
    table_->sortByColumn(WorstLayersModel::kWorst, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(plot_);
    splitter->addWidget(table_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({780, 620});  // room for every column of the table
    page_layout->addWidget(splitter, 1);

    cross_runs_ = new CrossRunView(runs_);
    tabs_ = new QTabWidget;
    tabs_->addTab(page, tr("Layers × steps"));
    tabs_->addTab(cross_runs_, tr("Across runs"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(tabs_);

    connect(run_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setRun(run_box_->itemData(index).toLongLong());
        }
    });
    connect(kind_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setKind(kind_box_->itemData(index).toString());
        }
    });
    connect(metric_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setMetric(static_cast<HealthMetric>(metric_box_->itemData(index).toInt()));
        }
    });
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (heatmap_ == nullptr) {
            return;
        }
        const double x = plot_->xAxis->pixelToCoord(event->position().x());
        const double y = plot_->yAxis->pixelToCoord(event->position().y());
        chooseCell(static_cast<int>(std::lround(y)), static_cast<int>(std::lround(x)));
    });
    connect(table_, &QTableView::clicked, this, [this](const QModelIndex& index) {
        chooseTableRow(index.row(), index.column());
    });
}

void HealthView::openWorkspace(const QString& root) {
    if (thread_.isRunning()) {
        thread_.quit();
        thread_.wait();
    }
    rows_.clear();
    const int64_t run = run_id_;
    run_id_ = 0;
    auto* worker = new TelemetryWorker(root);
    auto* reader = new CrossRunReader(root);
    worker->moveToThread(&thread_);
    reader->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker, &QObject::deleteLater);
    connect(&thread_, &QThread::finished, reader, &QObject::deleteLater);
    connectReaders(worker, reader);
    thread_.start();
    QMetaObject::invokeMethod(
        worker, [worker] { worker->open(500); }, Qt::QueuedConnection);
    QMetaObject::invokeMethod(reader, &CrossRunReader::open, Qt::QueuedConnection);
    if (run != 0) {
        setRun(run);
    }
    refreshRuns();
    redraw();
}

void HealthView::connectReaders(TelemetryWorker* worker, CrossRunReader* reader) {
    connect(worker, &TelemetryWorker::statisticsRead, this, &HealthView::onStatisticsRead);
    connect(worker, &TelemetryWorker::failed, this, &HealthView::setMessage);
    // Queued also within one thread: the worker is never re-entered from its own signal.
    connect(this, &HealthView::runSelected, worker, &TelemetryWorker::select, Qt::QueuedConnection);
    cross_runs_->connectReader(reader);
    if (run_id_ != 0) {
        Q_EMIT runSelected(run_id_, {}, {});
    }
}

void HealthView::refreshRuns() {
    if (runs_ == nullptr) {
        return;
    }
    std::vector<std::pair<int64_t, QString>> items;
    for (const RunRow& row : runs_->runs()) {
        items.emplace_back(row.record.id,
                           QStringLiteral("%1  #%2")
                               .arg(QString::fromStdString(row.record.name))
                               .arg(row.record.id));
    }
    sync_run_items(*run_box_, items, run_id_);
    if (run_id_ == 0 && !items.empty()) {
        setRun(items.front().first);  // the newest run until one is chosen
    }
}

void HealthView::showCrossRuns() {
    tabs_->setCurrentWidget(cross_runs_);
}

void HealthView::setRun(int64_t run_id) {
    if (run_id != run_id_) {
        run_id_ = run_id;
        rows_.clear();
        Q_EMIT runSelected(run_id_, {}, {});
    }
    updating_controls_ = true;
    run_box_->setCurrentIndex(run_box_->findData(QVariant::fromValue<qlonglong>(run_id_)));
    updating_controls_ = false;
    cross_runs_->setReferenceRun(run_id_);
    redraw();
}

void HealthView::setKind(const QString& kind) {
    const auto name = tensor_kind_from_text(kind.toStdString());
    if (!name) {
        setMessage(tr("Unknown tensor kind %1: expected W, A, G, m or v").arg(kind));
        return;
    }
    kind_ = *name;
    updating_controls_ = true;
    kind_box_->setCurrentIndex(kind_box_->findData(QString::fromStdString(kind_)));
    updating_controls_ = false;
    cross_runs_->setKind(QString::fromStdString(kind_));
    redraw();
}

void HealthView::setMetric(HealthMetric metric) {
    metric_ = metric;
    updating_controls_ = true;
    metric_box_->setCurrentIndex(metric_box_->findData(static_cast<int>(metric)));
    updating_controls_ = false;
    redraw();
    // Sorted by a value column, the table stays worst first: which end that is depends on the
    // metric.
    const int column = worst_proxy_->sortColumn();
    if (column == WorstLayersModel::kWorst || column == WorstLayersModel::kLatest) {
        table_->sortByColumn(
            column,
            health_metric_info(metric_).higher_is_worse ? Qt::DescendingOrder : Qt::AscendingOrder);
    }
}

void HealthView::applyTheme() {
    theme_ = PlotTheme::fromPalette(palette());
    theme_.apply(*plot_);
    theme_.apply(*colour_scale_);
    cross_runs_->applyTheme();
    redraw();
}

void HealthView::onStatisticsRead(const StatisticsRows& rows) {
    if (rows.run_id != run_id_) {
        return;  // an answer to an earlier choice
    }
    if (rows.from_start) {
        rows_.clear();
    }
    rows_.insert(rows_.end(), rows.rows.begin(), rows.rows.end());
    redraw();
    cross_runs_->refresh();  // a running run recorded more: its histograms too
}

QString HealthView::message() const {
    return message_->isHidden() ? QString() : message_->text();
}

void HealthView::setMessage(const QString& text) {
    message_->setText(text);
    message_->setVisible(!text.isEmpty());
}

void HealthView::redraw() {
    grid_ = build_health_grid(rows_, kind_, metric_);
    auto worst = worst_layers(rows_, metric_);
    std::vector<std::string> layers;
    for (const auto& row : worst) {
        if (layers.empty() || layers.back() != row.layer) {
            layers.push_back(row.layer);
        }
    }
    cross_runs_->setLayers(layers);
    worst_model_->setRows(metric_, std::move(worst));
    if (run_id_ == 0) {
        setMessage(tr("No run chosen"));
    } else if (rows_.empty()) {
        setMessage(
            tr("Run #%1 has no quantization statistics (no telemetry recorded yet)").arg(run_id_));
    } else if (grid_.empty()) {
        setMessage(tr("Run #%1 recorded no %2 statistics")
                       .arg(run_id_)
                       .arg(QString::fromStdString(kind_)));
    } else if (const QString hint = unquantizedKindHint(); !hint.isEmpty()) {
        setMessage(hint);
    } else {
        setMessage({});
    }
    drawHeatmap();
}

QString HealthView::unquantizedKindHint() const {
    std::set<std::string> quantized;
    for (const auto& row : rows_) {
        if (row.quantizer) {
            quantized.insert(row.tensor_kind);
        }
    }
    const bool defined = std::any_of(grid_.values.begin(), grid_.values.end(), [](const auto& row) {
        return std::any_of(row.begin(), row.end(), [](double v) { return std::isfinite(v); });
    });
    if (defined || quantized.count(kind_) > 0) {
        return {};
    }
    // Shown instead of an empty heatmap: the kind is kept in full precision.
    QStringList others;
    for (const std::string& kind : quantized) {
        others << QStringLiteral("%1 (%2)").arg(QString::fromStdString(tensor_kind_short(kind)),
                                                QString::fromStdString(kind));
    }
    return others.isEmpty()
               ? tr("Run #%1 quantizes no tensor kind: its metrics are undefined").arg(run_id_)
               : tr("Run #%1 keeps %2 in full precision, so its quantization metrics are "
                    "undefined; it quantizes %3")
                     .arg(run_id_)
                     .arg(QString::fromStdString(kind_))
                     .arg(others.join(QStringLiteral(", ")));
}

void HealthView::drawHeatmap() {
    plot_->clearPlottables();
    heatmap_ = nullptr;
    const auto& info = health_metric_info(metric_);
    colour_scale_->axis()->setLabel(QString::fromStdString(health_metric_label(metric_)));
    if (grid_.empty()) {
        titleOf(plot_)->setText(QString());
        colour_scale_->setVisible(false);
        plot_->replot();
        return;
    }
    colour_scale_->setVisible(true);
    const auto columns = static_cast<int>(grid_.steps.size());
    const auto rows = static_cast<int>(grid_.layers.size());
    heatmap_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
    heatmap_->removeFromLegend();
    // Column i is the i-th recorded step and row k the k-th layer, so uneven telemetry steps
    // (telemetry.steps) still get one column each; the axes carry their labels. (A single
    // column or row spans a unit range: QCPColorMapData places cells by its two ends.)
    heatmap_->data()->setSize(columns, rows);
    heatmap_->data()->setRange(QCPRange(0, std::max(columns - 1, 1)),
                               QCPRange(0, std::max(rows - 1, 1)));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int i = 0; i < columns; ++i) {
        for (int k = 0; k < rows; ++k) {
            const double value = grid_.at(static_cast<size_t>(k), static_cast<size_t>(i));
            heatmap_->data()->setCell(i, k, value);
            if (std::isfinite(value)) {
                lo = std::min(lo, value);
                hi = std::max(hi, value);
            }
        }
    }
    const QCPRange range = colour_range(lo, hi);
    QCPColorGradient gradient = theme_.heatmapGradient(false);
    if (!info.higher_is_worse) {
        gradient = gradient.inverted();  // red is always the bad end
    }
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    heatmap_->setColorScale(colour_scale_);
    heatmap_->setGradient(gradient);
    heatmap_->setDataRange(range);
    heatmap_->setInterpolate(false);
    // The CSV export names every cell's layer and step (docs/studio.md §Export and reports).
    QStringList layer_names, step_names;
    for (const std::string& layer : grid_.layers) {
        layer_names << QString::fromStdString(layer);
    }
    for (int64_t step : grid_.steps) {
        step_names << QString::number(step);
    }
    heatmap_->setName(QString::fromStdString(health_metric_label(metric_)));
    heatmap_->setProperty("x_labels", step_names);
    heatmap_->setProperty("y_labels", layer_names);

    auto layer_ticks = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    for (int k = 0; k < rows; ++k) {
        layer_ticks->addTick(k, QString::fromStdString(grid_.layers[static_cast<size_t>(k)]));
    }
    plot_->yAxis->setTicker(layer_ticks);
    auto step_ticks = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    const int every = std::max(1, (columns + kStepLabels - 1) / kStepLabels);
    for (int i = 0; i < columns; i += every) {
        step_ticks->addTick(i, QString::number(grid_.steps[static_cast<size_t>(i)]));
    }
    plot_->xAxis->setTicker(step_ticks);
    plot_->xAxis->setRange(-0.5, columns - 0.5);
    plot_->yAxis->setRange(-0.5, rows - 0.5);
    titleOf(plot_)->setText(tr("%1 of %2 (%3) by layer and step — click a cell for its histograms")
                                .arg(QString::fromUtf8(info.name),
                                     QString::fromStdString(tensor_kind_short(kind_)),
                                     QString::fromStdString(kind_)));
    plot_->replot();
}

void HealthView::chooseCell(int layer_index, int step_index) {
    if (layer_index < 0 || step_index < 0 || layer_index >= static_cast<int>(grid_.layers.size()) ||
        step_index >= static_cast<int>(grid_.steps.size())) {
        return;
    }
    Q_EMIT tensorChosen(run_id_,
                        QString::fromStdString(grid_.layers[static_cast<size_t>(layer_index)]),
                        QString::fromStdString(kind_),
                        grid_.steps[static_cast<size_t>(step_index)]);
}

void HealthView::chooseTableRow(int proxy_row, int column) {
    const QModelIndex source = worst_proxy_->mapToSource(worst_proxy_->index(proxy_row, 0));
    if (!source.isValid()) {
        return;
    }
    const WorstLayerRow& row = worst_model_->rows()[static_cast<size_t>(source.row())];
    const bool worst =
        (column == WorstLayersModel::kWorst || column == WorstLayersModel::kWorstStep) &&
        !std::isnan(row.worst);
    Q_EMIT tensorChosen(run_id_,
                        QString::fromStdString(row.layer),
                        QString::fromStdString(row.kind),
                        worst ? row.worst_step : row.latest_step);
}

}  // namespace lowbit::ui
