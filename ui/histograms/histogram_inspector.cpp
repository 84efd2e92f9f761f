#include "histograms/histogram_inspector.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QSlider>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "charts/qcustomplot_include.h"
#include "export/plot_export_menu.h"
#include "models/runs_model.h"
#include "widgets/run_picker.h"

namespace lowbit::ui {

namespace {

constexpr const char* kKindOrder[] = {"weight", "activation", "grad_output", "optim_m", "optim_v"};
constexpr double kDenseLevelTick = 0.07;  // height of a level mark when levels are dense (yAxis2)
constexpr int kDenseLevels = 33;          // more levels than this: marks, not full-height lines

QString number(double value, int digits = 4) {
    if (std::isnan(value)) {
        return QStringLiteral("—");
    }
    if (std::isinf(value)) {
        return value > 0 ? QStringLiteral("+∞") : QStringLiteral("−∞");
    }
    return QString::number(value, 'g', digits);
}

QString percent(double fraction) {
    return std::isnan(fraction) ? number(fraction)
                                : number(100.0 * fraction) + QStringLiteral(" %");
}

// Bin centres and width of a histogram row: value units (uniform), codes (grid: bin k is code
// qn + k, centred on it) or exponents (log2: bin k covers [lo + k, lo + k + 1)).
struct Bins {
    QVector<double> keys;
    QVector<double> counts;
    double width = 1;
};

// The part of the key axis a histogram occupies: all of it, except for log2 rows, whose 80
// exponent bins are mostly empty: there only the occupied bins (one bin of margin).
std::pair<double, double> occupiedRange(const store::HistogramRecord& row, const Bins& bins) {
    if (bins.keys.isEmpty()) {
        return {0, 0};
    }
    int first = 0, last = static_cast<int>(bins.keys.size()) - 1;
    if (row.bin_scheme == "log2") {
        while (first < last && bins.counts[first] <= 0) {
            ++first;
        }
        while (last > first && bins.counts[last] <= 0) {
            --last;
        }
        first = std::max(first - 1, 0);
        last = std::min(last + 1, static_cast<int>(bins.keys.size()) - 1);
    }
    return {bins.keys[first] - bins.width / 2, bins.keys[last] + bins.width / 2};
}

Bins binsOf(const store::HistogramRecord& row) {
    Bins bins;
    const auto n = static_cast<int>(row.counts.size());
    if (n == 0) {
        return bins;
    }
    bins.width = (row.bin_hi - row.bin_lo) / n;
    if (!(bins.width > 0)) {
        // A constant tensor: every value in bin 0; a visible sliver at that value.
        bins.width = std::max(std::abs(row.bin_lo) * 1e-3, 1e-12);
    }
    for (int k = 0; k < n; ++k) {
        bins.keys.push_back(row.bin_lo + (k + 0.5) * bins.width);
        bins.counts.push_back(static_cast<double>(row.counts[static_cast<size_t>(k)]));
    }
    return bins;
}

QCPTextElement* titleOf(QCustomPlot* plot) {
    return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
}

}  // namespace

HistogramInspector::HistogramInspector(RunsModel* runs, QWidget* parent)
    : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("histogramInspector"));
    buildControls();
    applyTheme();
    if (runs_ != nullptr) {
        connect(runs_, &RunsModel::runsChanged, this, &HistogramInspector::refreshRuns);
        refreshRuns();
    }
}

HistogramInspector::~HistogramInspector() {
    if (thread_.isRunning()) {
        thread_.quit();
        thread_.wait();
    }
}

void HistogramInspector::buildControls() {
    auto* side = new QWidget;
    auto* side_layout = new QVBoxLayout(side);
    side_layout->setContentsMargins(0, 0, 0, 0);
    auto* choice = new QFormLayout;
    run_box_ = new QComboBox;
    run_box_->setObjectName(QStringLiteral("histogramRun"));
    run_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    run_box_->setMinimumContentsLength(14);
    kind_box_ = new QComboBox;
    kind_box_->setObjectName(QStringLiteral("histogramKind"));
    for (const char* kind : kKindOrder) {
        kind_box_->addItem(QString::fromStdString(tensor_kind_short(kind)) + QStringLiteral("  (") +
                               QString::fromLatin1(kind) + QStringLiteral(")"),
                           QString::fromLatin1(kind));
    }
    choice->addRow(tr("Run"), run_box_);
    choice->addRow(tr("Tensor"), kind_box_);
    side_layout->addLayout(choice);
    tree_ = new QTreeWidget;
    tree_->setObjectName(QStringLiteral("histogramLayers"));
    tree_->setHeaderLabels({tr("Layer")});
    tree_->header()->setVisible(false);
    side_layout->addWidget(tree_, 1);

    auto* stats_box = new QGroupBox(tr("Statistics at this step"));
    auto* stats_form = new QFormLayout(stats_box);
    stats_form->setLabelAlignment(Qt::AlignLeft);
    const std::pair<const char*, QString> rows[] = {
        {"quantizer", tr("Quantizer")},
        {"codes", tr("Codes")},
        {"scale", tr("Scale s")},
        {"clip_fraction", tr("Clipped")},
        {"clipped", tr("Clipped low / high")},
        {"underflow_fraction", tr("Underflow")},
        {"sqnr_db", tr("SQNR")},
        {"mse", tr("MSE")},
        {"n", tr("Values")},
        {"range", tr("Min … max")},
        {"mean_sigma", tr("Mean, σ")},
        {"nonfinite", tr("NaN / Inf")},
        {"zeros", tr("Zeros")},
        {"absmax_over_sigma", tr("absmax/σ")},
        {"kurtosis", tr("Kurtosis")},
    };
    for (const auto& [name, label] : rows) {
        auto* value = new QLabel(QStringLiteral("—"));
        value->setObjectName(QStringLiteral("stat_") + QLatin1String(name));
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setWordWrap(true);
        stats_form->addRow(label, value);
    }
    stats_panel_ = stats_box;
    side_layout->addWidget(stats_box);

    auto* main = new QWidget;
    auto* main_layout = new QVBoxLayout(main);
    main_layout->setContentsMargins(0, 0, 0, 0);
    auto* step_bar = new QHBoxLayout;
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setObjectName(QStringLiteral("histogramStep"));
    slider_->setRange(0, 0);
    step_label_ = new QLabel(tr("no telemetry"));
    step_label_->setMinimumWidth(90);
    step_mode_box_ = new QComboBox;
    step_mode_box_->addItems({tr("One step"), tr("Several steps")});
    bins_box_ = new QComboBox;
    bins_box_->addItems({tr("Value bins"), tr("Stored bins (codes / log2)")});
    log_y_box_ = new QCheckBox(tr("Log y"));
    step_bar->addWidget(new QLabel(tr("Step")));
    step_bar->addWidget(slider_, 1);
    step_bar->addWidget(step_label_);
    step_bar->addWidget(step_mode_box_);
    step_bar->addWidget(bins_box_);
    step_bar->addWidget(log_y_box_);
    main_layout->addLayout(step_bar);

    auto* splitter = new QSplitter(Qt::Vertical);
    step_plot_ = new QCustomPlot;
    step_plot_->setObjectName(QStringLiteral("histogramStepPlot"));
    time_plot_ = new QCustomPlot;
    time_plot_->setObjectName(QStringLiteral("histogramOverStepsPlot"));
    install_plot_export_menu(step_plot_, QStringLiteral("histogram-step"));
    install_plot_export_menu(time_plot_, QStringLiteral("histogram-over-steps"));
    for (QCustomPlot* plot : {step_plot_, time_plot_}) {
        plot->plotLayout()->insertRow(0);
        plot->plotLayout()->addElement(
            0, 0, new QCPTextElement(plot, QString(), QFont(font().family(), 10, QFont::Bold)));
        plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
        plot->axisRect()->setRangeZoom(Qt::Horizontal);
        plot->axisRect()->setRangeDrag(Qt::Horizontal);
        plot->setMinimumHeight(200);
        plot->legend->setVisible(true);
        plot->legend->setFont(QFont(font().family(), 8));
        plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    }
    step_plot_->yAxis2->setRange(0, 1);  // the overlay's marks: 0..1 of the plot height
    step_plot_->xAxis->setLabel(tr("value"));
    step_plot_->yAxis->setLabel(tr("count"));
    time_plot_->xAxis->setLabel(tr("step"));
    colour_scale_ = new QCPColorScale(time_plot_);
    colour_scale_->setType(QCPAxis::atRight);
    colour_scale_->axis()->setLabel(tr("log10(1 + count)"));
    colour_scale_->setBarWidth(12);
    auto* margins = new QCPMarginGroup(time_plot_);
    time_plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    colour_scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    splitter->addWidget(step_plot_);
    auto* over_steps = new QWidget;
    auto* over_layout = new QVBoxLayout(over_steps);
    over_layout->setContentsMargins(0, 0, 0, 0);
    auto* over_bar = new QHBoxLayout;
    over_steps_box_ = new QComboBox;
    over_steps_box_->addItems({tr("Heatmap over steps"), tr("Percentile bands over steps")});
    over_bar->addWidget(over_steps_box_);
    over_bar->addStretch(1);
    over_layout->addLayout(over_bar);
    over_layout->addWidget(time_plot_, 1);
    splitter->addWidget(over_steps);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    main_layout->addWidget(splitter, 1);

    auto* outer = new QSplitter(Qt::Horizontal);
    outer->addWidget(side);
    outer->addWidget(main);
    outer->setStretchFactor(1, 1);
    outer->setSizes({300, 1000});
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(outer);

    connect(run_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setSelection(run_box_->itemData(index).toLongLong(),
                         QString::fromStdString(layer_),
                         QString::fromStdString(kind_));
        }
    });
    connect(kind_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setSelection(
                run_id_, QString::fromStdString(layer_), kind_box_->itemData(index).toString());
        }
    });
    connect(tree_, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        const QString layer = item ? item->data(0, Qt::UserRole).toString() : QString();
        if (!updating_controls_ && !layer.isEmpty()) {
            setSelection(run_id_, layer, QString::fromStdString(kind_));
        }
    });
    connect(slider_, &QSlider::valueChanged, this, [this] {
        if (!updating_controls_) {
            redraw();
        }
    });
    connect(step_mode_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        setStepMode(static_cast<StepMode>(i));
    });
    connect(bins_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        setStepBins(static_cast<StepBins>(i));
    });
    connect(over_steps_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
        setOverStepsMode(static_cast<OverStepsMode>(i));
    });
    connect(log_y_box_, &QCheckBox::toggled, this, &HistogramInspector::setLogY);
    // A click on the over-steps plot chooses the nearest recorded step.
    connect(time_plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (series_.steps.empty()) {
            return;
        }
        const double x = time_plot_->xAxis->pixelToCoord(event->position().x());
        int best = 0;
        for (int i = 0; i < static_cast<int>(series_.steps.size()); ++i) {
            const auto step = static_cast<double>(series_.steps[static_cast<size_t>(i)].stats.step);
            const auto best_step =
                static_cast<double>(series_.steps[static_cast<size_t>(best)].stats.step);
            if (std::abs(step - x) < std::abs(best_step - x)) {
                best = i;
            }
        }
        setStepIndex(best);
    });
}

void HistogramInspector::openWorkspace(const QString& root) {
    if (thread_.isRunning()) {
        thread_.quit();
        thread_.wait();
    }
    catalogue_ = TelemetryCatalogue{};
    series_ = TensorSeries{};
    run_id_ = 0;
    auto* worker = new TelemetryWorker(root);
    worker->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker, &QObject::deleteLater);
    connectWorker(worker);
    thread_.start();
    QMetaObject::invokeMethod(
        worker, [worker] { worker->open(500); }, Qt::QueuedConnection);
    refreshRuns();
    redraw();
}

void HistogramInspector::connectWorker(TelemetryWorker* worker) {
    connect(worker, &TelemetryWorker::catalogueRead, this, &HistogramInspector::onCatalogueRead);
    connect(worker, &TelemetryWorker::seriesRead, this, &HistogramInspector::onSeriesRead);
    // Queued also within one thread: the worker is never re-entered from its own signal.
    connect(this,
            &HistogramInspector::selectionChanged,
            worker,
            &TelemetryWorker::select,
            Qt::QueuedConnection);
    if (run_id_ != 0) {
        announceSelection();
    }
}

void HistogramInspector::refreshRuns() {
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
        setSelection(items.front().first);  // the newest run until one is chosen
    }
}

void HistogramInspector::setSelection(int64_t run_id, const QString& layer, const QString& kind) {
    pending_step_.reset();
    const bool run_changed = run_id != run_id_;
    run_id_ = run_id;
    layer_ = layer.toStdString();
    kind_ = kind.toStdString();
    if (run_changed) {
        catalogue_ = TelemetryCatalogue{};
        catalogue_.run_id = run_id;
        rebuildTree();
    }
    if (series_.run_id != run_id_ || series_.layer != layer_ || series_.kind != kind_) {
        series_ = TensorSeries{run_id_, layer_, kind_, {}};
    }
    updating_controls_ = true;
    run_box_->setCurrentIndex(run_box_->findData(QVariant::fromValue<qlonglong>(run_id_)));
    updating_controls_ = false;
    chooseDefaults();
    announceSelection();
    redraw();
}

void HistogramInspector::showStep(qint64 run_id,
                                  const QString& layer,
                                  const QString& kind,
                                  qint64 step) {
    setSelection(run_id, layer, kind);
    pending_step_ = step;
    applyPendingStep();
}

void HistogramInspector::applyPendingStep() {
    if (!pending_step_) {
        return;
    }
    for (size_t i = 0; i < series_.steps.size(); ++i) {
        if (series_.steps[i].stats.step == *pending_step_) {
            pending_step_.reset();
            setStepIndex(static_cast<int>(i));
            return;
        }
    }
}

void HistogramInspector::announceSelection() {
    Q_EMIT selectionChanged(run_id_, QString::fromStdString(layer_), QString::fromStdString(kind_));
}

void HistogramInspector::chooseDefaults() {
    // Fills an empty or unrecorded layer/kind from the catalogue (once it is known).
    if (catalogue_.tensors.empty()) {
        updateKinds();
        return;
    }
    if (catalogue_.tensors.count(layer_) == 0) {
        std::vector<std::string> layers;
        for (const auto& [name, kinds] : catalogue_.tensors) {
            layers.push_back(name);
        }
        std::sort(layers.begin(), layers.end(), natural_less);
        layer_ = layers.front();
    }
    const auto& kinds = catalogue_.tensors.at(layer_);
    if (kinds.count(kind_) == 0) {
        // The first recorded kind in the order W, A, G, m, v.
        kind_ = *kinds.begin();
        for (const char* k : kKindOrder) {
            if (kinds.count(k) != 0) {
                kind_ = k;
                break;
            }
        }
    }
    if (series_.layer != layer_ || series_.kind != kind_) {
        series_ = TensorSeries{run_id_, layer_, kind_, {}};
    }
    updating_controls_ = true;
    for (QTreeWidgetItemIterator it(tree_); *it; ++it) {
        if ((*it)->data(0, Qt::UserRole).toString().toStdString() == layer_) {
            tree_->setCurrentItem(*it);
        }
    }
    updating_controls_ = false;
    updateKinds();
}

void HistogramInspector::updateKinds() {
    updating_controls_ = true;
    const auto found = catalogue_.tensors.find(layer_);
    for (int i = 0; i < kind_box_->count(); ++i) {
        const bool recorded = found != catalogue_.tensors.end() &&
                              found->second.count(kind_box_->itemData(i).toString().toStdString());
        // Kinds the layer did not record stay listed but cannot be chosen.
        auto* model = qobject_cast<QStandardItemModel*>(kind_box_->model());
        if (model != nullptr) {
            model->item(i)->setEnabled(recorded || found == catalogue_.tensors.end());
        }
    }
    kind_box_->setCurrentIndex(kind_box_->findData(QString::fromStdString(kind_)));
    updating_controls_ = false;
}

void HistogramInspector::rebuildTree() {
    updating_controls_ = true;
    tree_->clear();
    std::vector<std::string> layers;
    for (const auto& [name, kinds] : catalogue_.tensors) {
        layers.push_back(name);
    }
    std::sort(layers.begin(), layers.end(), natural_less);
    std::map<std::string, QTreeWidgetItem*> groups;
    for (const std::string& layer : layers) {
        const std::string group = layer_group(layer);
        QTreeWidgetItem* parent = nullptr;
        if (!group.empty()) {
            auto& item = groups[group];
            if (item == nullptr) {
                item = new QTreeWidgetItem(tree_, {QString::fromStdString(group)});
                item->setFlags(Qt::ItemIsEnabled);
                item->setExpanded(true);
            }
            parent = item;
        }
        const QString text = QString::fromStdString(
            group.empty() ? layer : layer.substr(group.size() + 1));  // "attn.qkv" under block
        auto* item =
            parent ? new QTreeWidgetItem(parent, {text}) : new QTreeWidgetItem(tree_, {text});
        item->setData(0, Qt::UserRole, QString::fromStdString(layer));
        item->setToolTip(0, QString::fromStdString(layer));
        if (layer == layer_) {
            tree_->setCurrentItem(item);
        }
    }
    tree_->expandAll();
    updating_controls_ = false;
}

void HistogramInspector::onCatalogueRead(const TelemetryCatalogue& catalogue) {
    if (catalogue.run_id != run_id_) {
        return;  // an answer to an earlier choice
    }
    const bool tensors_changed = catalogue.tensors != catalogue_.tensors;
    catalogue_ = catalogue;
    if (tensors_changed) {
        rebuildTree();
    }
    const std::string layer = layer_;
    const std::string kind = kind_;
    chooseDefaults();
    if (layer != layer_ || kind != kind_) {
        announceSelection();
        redraw();
    }
}

void HistogramInspector::onSeriesRead(const TensorSeries& series) {
    if (series.run_id != run_id_ || series.layer != layer_ || series.kind != kind_) {
        return;
    }
    // The slider follows new steps while it is at the end (or nothing was shown yet).
    const bool follow = series_.steps.empty() || slider_->value() >= slider_->maximum();
    const int kept = slider_->value();
    series_ = series;
    updating_controls_ = true;
    slider_->setRange(0, std::max(0, static_cast<int>(series_.steps.size()) - 1));
    slider_->setValue(follow ? slider_->maximum() : std::min(kept, slider_->maximum()));
    updating_controls_ = false;
    redraw();
    applyPendingStep();
}

std::optional<int64_t> HistogramInspector::currentStep() const {
    const int index = slider_->value();
    if (series_.steps.empty() || index < 0 || index >= static_cast<int>(series_.steps.size())) {
        return std::nullopt;
    }
    return series_.steps[static_cast<size_t>(index)].stats.step;
}

void HistogramInspector::setStepIndex(int index) {
    slider_->setValue(index);  // redraws through valueChanged
}

void HistogramInspector::setStepMode(StepMode mode) {
    step_mode_ = mode;
    step_mode_box_->setCurrentIndex(static_cast<int>(mode));
    redraw();
}

void HistogramInspector::setStepBins(StepBins bins) {
    step_bins_ = bins;
    bins_box_->setCurrentIndex(static_cast<int>(bins));
    redraw();
}

void HistogramInspector::setOverStepsMode(OverStepsMode mode) {
    over_steps_mode_ = mode;
    over_steps_box_->setCurrentIndex(static_cast<int>(mode));
    redraw();
}

void HistogramInspector::setLogY(bool on) {
    log_y_ = on;
    log_y_box_->setChecked(on);
    redraw();
}

void HistogramInspector::applyTheme() {
    theme_ = PlotTheme::fromPalette(palette());
    for (QCustomPlot* plot : {step_plot_, time_plot_}) {
        theme_.apply(*plot);
    }
    theme_.apply(*colour_scale_);
    redraw();
}

void HistogramInspector::redraw() {
    const auto step = currentStep();
    step_label_->setText(step
                             ? tr("%1 of %2")
                                   .arg(*step)
                                   .arg(series_.steps.empty() ? 0 : series_.steps.back().stats.step)
                             : tr("no telemetry"));
    drawStepPlot();
    drawOverStepsPlot();
    updateStatistics();
}

void HistogramInspector::drawStepPlot() {
    QCustomPlot* plot = step_plot_;
    plot->clearPlottables();
    plot->clearItems();
    levels_graph_ = coarse_levels_graph_ = clip_graph_ = nullptr;
    const QString tensor = QStringLiteral("%1 · %2").arg(
        QString::fromStdString(layer_), QString::fromStdString(tensor_kind_short(kind_)));
    const int index = slider_->value();
    if (series_.steps.empty() || index >= static_cast<int>(series_.steps.size())) {
        titleOf(plot)->setText(layer_.empty() ? tr("No telemetry in this run")
                                              : tensor + tr(" · no telemetry yet"));
        plot->replot();
        return;
    }
    const TensorStep& current = series_.steps[static_cast<size_t>(index)];
    const bool stored = step_bins_ == StepBins::kStored;
    auto rowOf = [stored](const TensorStep& s) -> const std::optional<store::HistogramRecord>& {
        return stored ? s.fixed : s.uniform;
    };
    const auto& shown = rowOf(current);
    const QString scheme = shown ? QString::fromStdString(shown->bin_scheme) : QString();
    plot->xAxis->setLabel(scheme == QLatin1String("grid")   ? tr("code q")
                          : scheme == QLatin1String("log2") ? tr("log2 |x| (zeros not shown)")
                                                            : tr("value"));
    plot->yAxis->setScaleType(log_y_ ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log_y_) {
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    } else {
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    const double log_floor = 0.8;  // log y: bars start below one count
    double x_lo = std::numeric_limits<double>::infinity();
    double x_hi = -x_lo;
    double y_hi = 1;
    if (step_mode_ == StepMode::kBars) {
        if (shown) {
            const Bins bins = binsOf(*shown);
            if (!bins.keys.isEmpty()) {
                std::tie(x_lo, x_hi) = occupiedRange(*shown, bins);
                y_hi = *std::max_element(bins.counts.begin(), bins.counts.end());
            }
            auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
            bars->setName(tr("step %1").arg(current.stats.step));
            bars->setWidth(bins.width);
            bars->setBaseValue(log_y_ ? log_floor : 0);
            if (log_y_) {
                // A log axis has no zero: empty bins are left out, the others start below 1.
                QVector<double> keys, counts;
                for (int k = 0; k < bins.keys.size(); ++k) {
                    if (bins.counts[k] > 0) {
                        keys.push_back(bins.keys[k]);
                        counts.push_back(bins.counts[k]);
                    }
                }
                bars->setData(keys, counts, true);
            } else {
                bars->setData(bins.keys, bins.counts, true);
            }
            QColor fill = RunsModel::colourOf(run_id_);
            bars->setPen(QPen(fill.darker(130), 0.5));
            fill.setAlpha(170);
            bars->setBrush(fill);
        }
    } else {
        // Several steps: up to kOverlaidSteps evenly spread up to the chosen one, older fainter.
        std::vector<int> picks;
        const int count = std::min(kOverlaidSteps, index + 1);
        for (int i = 0; i < count; ++i) {
            const int pick = count == 1 ? index : index - (index * (count - 1 - i)) / (count - 1);
            if (picks.empty() || picks.back() != pick) {
                picks.push_back(pick);
            }
        }
        const QColor base = RunsModel::colourOf(run_id_);
        for (size_t i = 0; i < picks.size(); ++i) {
            const TensorStep& s = series_.steps[static_cast<size_t>(picks[i])];
            const auto& row = rowOf(s);
            if (!row) {
                continue;
            }
            Bins bins = binsOf(*row);
            if (!bins.keys.isEmpty()) {
                const auto [lo, hi] = occupiedRange(*row, bins);
                x_lo = std::min(x_lo, lo);
                x_hi = std::max(x_hi, hi);
            }
            for (double& c : bins.counts) {
                if (log_y_ && c <= 0) {
                    c = std::numeric_limits<double>::quiet_NaN();
                }
            }
            QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis);
            graph->setName(tr("step %1").arg(s.stats.step));
            graph->setLineStyle(QCPGraph::lsStepCenter);
            graph->setData(bins.keys, bins.counts, true);
            QColor colour = base;
            const double age = picks.size() == 1 ? 1.0 : double(i) / double(picks.size() - 1);
            colour.setHsvF(colour.hsvHueF(), 0.25 + 0.75 * age, colour.valueF());
            colour.setAlphaF(static_cast<float>(0.35 + 0.65 * age));
            graph->setPen(QPen(colour, i + 1 == picks.size() ? 2.0 : 1.2));
            // The legend names the oldest and the newest step only; colour says the rest.
            if (i != 0 && i + 1 != picks.size()) {
                graph->removeFromLegend();
            }
            if (!bins.keys.isEmpty()) {
                for (double c : bins.counts) {
                    if (!std::isnan(c)) {
                        y_hi = std::max(y_hi, c);
                    }
                }
            }
        }
    }
    if (!stored) {
        drawOverlay(current, x_lo, x_hi);
    }
    if (!(x_hi > x_lo)) {
        x_lo = -1;
        x_hi = 1;
    }
    const double margin = (x_hi - x_lo) * 0.03;
    plot->xAxis->setRange(x_lo - margin, x_hi + margin);
    plot->yAxis->setRange(log_y_ ? log_floor : 0, log_y_ ? y_hi * 2.0 : y_hi * 1.08);
    QString title = tensor + tr(" · step %1").arg(current.stats.step);
    if (quantizer_of(current.stats)) {
        title += tr(" · clipped %1 · underflow %2 · SQNR %3 dB")
                     .arg(percent(current.stats.clip_fraction),
                          percent(current.stats.underflow_fraction),
                          number(current.stats.sqnr_db, 3));
    } else {
        title += tr(" · not quantized");
    }
    titleOf(plot)->setText(title);
    plot->legend->setVisible(plot->legend->itemCount() > 0);
    plot->replot();
}

void HistogramInspector::drawOverlay(const TensorStep& step, double& x_lo, double& x_hi) {
    const auto overlay = quantizer_overlay(step.stats);
    if (!overlay) {
        return;
    }
    QCustomPlot* plot = step_plot_;
    const bool dark = theme_.background.lightness() < 128;
    auto addMarks = [&](const std::vector<double>& at, double height, const QPen& pen) {
        QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis2);
        graph->setLineStyle(QCPGraph::lsImpulse);
        QVector<double> keys(at.begin(), at.end());
        graph->setData(keys, QVector<double>(keys.size(), height), true);
        graph->setPen(pen);
        return graph;
    };
    const auto height = [](const std::vector<double>& levels) {
        return static_cast<int>(levels.size()) > kDenseLevels ? kDenseLevelTick : 1.0;
    };
    const QColor level_colour = dark ? QColor(250, 250, 250, 150) : QColor(30, 30, 30, 140);
    const auto info = quantizer_of(step.stats);
    const QString grain = QString::fromStdString(info->granularity);
    if (overlay->single_scale) {
        levels_graph_ = addMarks(overlay->levels, height(overlay->levels), QPen(level_colour, 1));
        levels_graph_->setName(info->symmetric
                                   ? tr("levels q·s, s = %1").arg(number(overlay->scale_min))
                                   : tr("levels (q+z)·s, s = %1, z = %2")
                                         .arg(number(overlay->scale_min))
                                         .arg(overlay->zero_offset));
    } else if (!overlay->levels.empty()) {
        levels_graph_ = addMarks(overlay->levels, height(overlay->levels), QPen(level_colour, 1));
        levels_graph_->setName(
            tr("%1 scales: levels at smallest s = %2").arg(grain, number(overlay->scale_min)));
        QColor coarse = dark ? QColor(120, 200, 255, 170) : QColor(20, 90, 200, 160);
        coarse_levels_graph_ = addMarks(
            overlay->coarse_levels, height(overlay->coarse_levels), QPen(coarse, 1, Qt::DashLine));
        coarse_levels_graph_->setName(tr("… and at largest s = %1 (each %2 has its own)")
                                          .arg(number(overlay->scale_max), grain.mid(4)));
    }
    clip_graph_ =
        addMarks({overlay->clip_lo, overlay->clip_hi},
                 1.0,
                 QPen(dark ? QColor(255, 110, 90) : QColor(200, 30, 20), 2, Qt::DashLine));
    clip_graph_->setName(
        overlay->single_scale || !overlay->levels.empty()
            ? tr("clip range [%1, %2]").arg(number(overlay->clip_lo), number(overlay->clip_hi))
            : tr("%1 asymmetric scales s ∈ [%2, %3]: each group's grid spans its own min … max")
                  .arg(grain, number(overlay->scale_min), number(overlay->scale_max)));
    x_lo = std::min(x_lo, overlay->clip_lo);
    x_hi = std::max(x_hi, overlay->clip_hi);
}

void HistogramInspector::drawOverStepsPlot() {
    QCustomPlot* plot = time_plot_;
    plot->clearPlottables();
    plot->clearItems();
    heatmap_ = nullptr;
    step_marker_ = nullptr;
    // The colour scale is in the layout only while the heatmap is shown.
    const bool scale_in_layout = plot->plotLayout()->hasElement(1, 1);
    const bool want_scale = over_steps_mode_ == OverStepsMode::kHeatmap && !series_.steps.empty();
    if (scale_in_layout && !want_scale) {
        plot->plotLayout()->take(colour_scale_);
        plot->plotLayout()->simplify();
    } else if (!scale_in_layout && want_scale) {
        plot->plotLayout()->addElement(1, 1, colour_scale_);
    }
    colour_scale_->setVisible(want_scale);
    if (series_.steps.empty()) {
        titleOf(plot)->setText(QString());
        plot->replot();
        return;
    }
    if (over_steps_mode_ == OverStepsMode::kHeatmap) {
        drawHeatmap();
    } else {
        drawPercentiles();
    }
    if (const auto step = currentStep()) {
        step_marker_ = new QCPItemStraightLine(plot);
        step_marker_->point1->setCoords(static_cast<double>(*step), 0);
        step_marker_->point2->setCoords(static_cast<double>(*step), 1);
        step_marker_->setPen(QPen(theme_.foreground, 1, Qt::DashLine));
    }
    plot->legend->setVisible(plot->legend->itemCount() > 0);
    plot->replot();
}

void HistogramInspector::drawHeatmap() {
    QCustomPlot* plot = time_plot_;
    const auto& steps = series_.steps;
    // Rows: the stored grid (code units) or log2 (exponent) bins when every step has them with
    // the same layout: those bins are fixed, so each cell is one stored count. Otherwise (rows
    // from an older schema) the uniform bins, which follow each step's own [min, max], spread
    // onto one common value axis over the union of the ranges (rebin_uniform).
    bool fixed = true;
    for (const auto& s : steps) {
        fixed = fixed && s.fixed && s.fixed->bin_scheme == steps.front().fixed->bin_scheme &&
                s.fixed->bin_lo == steps.front().fixed->bin_lo &&
                s.fixed->counts.size() == steps.front().fixed->counts.size();
    }
    const auto columns = static_cast<int>(steps.size());
    std::vector<std::vector<double>> cells(steps.size());
    double row_lo = 0, row_step = 1;
    int first = 0, rows = 0;
    if (fixed) {
        const auto& head = *steps.front().fixed;
        heatmap_scheme_ = QString::fromStdString(head.bin_scheme);
        const auto bins = static_cast<int>(head.counts.size());
        first = bins;
        int last = -1;
        if (head.bin_scheme == "log2") {
            // Only the exponents that occur (80 stored bins, most of them empty).
            for (const auto& s : steps) {
                for (int k = 0; k < bins; ++k) {
                    if (s.fixed->counts[static_cast<size_t>(k)] != 0) {
                        first = std::min(first, k);
                        last = std::max(last, k);
                    }
                }
            }
            if (last < first) {
                first = 0;
                last = bins - 1;
            }
        } else {
            first = 0;
            last = bins - 1;
        }
        rows = last - first + 1;
        const double width = (head.bin_hi - head.bin_lo) / bins;
        row_lo = head.bin_lo + (first + 0.5) * width;  // grid: code qn + first; log2: centre
        row_step = width;
        for (size_t i = 0; i < steps.size(); ++i) {
            for (int k = first; k <= last; ++k) {
                cells[i].push_back(
                    heatmap_cell_value(steps[i].fixed->counts[static_cast<size_t>(k)]));
            }
        }
        plot->yAxis->setLabel(head.bin_scheme == "grid" ? tr("code q") : tr("log2 |x|"));
    } else {
        heatmap_scheme_ = QStringLiteral("uniform");
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (const auto& s : steps) {
            if (s.uniform) {
                lo = std::min(lo, s.uniform->bin_lo);
                hi = std::max(hi, s.uniform->bin_hi);
            }
        }
        if (!std::isfinite(lo) || !std::isfinite(hi)) {
            titleOf(plot)->setText(tr("Histogram over steps: no histograms recorded yet"));
            return;  // statistics rows whose histograms are not committed yet
        }
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        rows = kRebinnedBins;
        row_step = (hi - lo) / rows;
        row_lo = lo + row_step / 2;
        for (size_t i = 0; i < steps.size(); ++i) {
            const auto& u = steps[i].uniform;
            const auto spread = u ? rebin_uniform(u->counts, u->bin_lo, u->bin_hi, lo, hi, rows)
                                  : std::vector<double>(static_cast<size_t>(rows), 0.0);
            for (double c : spread) {
                cells[i].push_back(std::log10(1.0 + c));
            }
        }
        plot->yAxis->setLabel(tr("value (rebinned)"));
    }
    heatmap_first_bin_ = first;
    heatmap_ = new QCPColorMap(plot->xAxis, plot->yAxis);
    heatmap_->setName(QString());
    heatmap_->removeFromLegend();
    heatmap_->data()->setSize(columns, rows);
    // Cell i is at the i-th recorded step; the key axis is exact for evenly spaced steps
    // (telemetry.every), the usual case.
    const auto step_lo = static_cast<double>(steps.front().stats.step);
    const auto step_hi = static_cast<double>(steps.back().stats.step);
    heatmap_->data()->setRange(
        columns > 1 ? QCPRange(step_lo, step_hi) : QCPRange(step_lo - 0.5, step_lo + 0.5),
        rows > 1 ? QCPRange(row_lo, row_lo + (rows - 1) * row_step)
                 : QCPRange(row_lo - 0.5, row_lo + 0.5));
    double top = 0;
    for (int i = 0; i < columns; ++i) {
        for (int k = 0; k < rows; ++k) {
            const double value = cells[static_cast<size_t>(i)][static_cast<size_t>(k)];
            heatmap_->data()->setCell(i, k, value);
            top = std::max(top, value);
        }
    }
    heatmap_->setColorScale(colour_scale_);
    heatmap_->setGradient(theme_.heatmapGradient(true));
    heatmap_->setDataRange(QCPRange(0, std::max(top, 1.0)));
    heatmap_->setInterpolate(false);
    const double half = columns > 1 ? (step_hi - step_lo) / (columns - 1) / 2 : 0.5;
    plot->xAxis->setRange(step_lo - half, step_hi + half);
    plot->yAxis->setRange(row_lo - row_step / 2, row_lo + (rows - 0.5) * row_step);
    plot->yAxis->setScaleType(QCPAxis::stLinear);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    titleOf(plot)->setText(
        tr("Histogram over steps (%1 bins, colour log10(1 + count))").arg(heatmap_scheme_));
}

void HistogramInspector::drawPercentiles() {
    QCustomPlot* plot = time_plot_;
    // Per step from the uniform histogram in value units: the value below which a fraction of
    // the finite values lies, interpolated inside its bin (histogram_percentile).
    const std::pair<const char*, double> levels[] = {{"p5", kBandOuter},
                                                     {"p25", kBandInner},
                                                     {"median", 0.5},
                                                     {"p75", 1 - kBandInner},
                                                     {"p95", 1 - kBandOuter}};
    std::map<QString, QCPGraph*> graphs;
    for (const auto& [name, fraction] : levels) {
        QVector<double> keys, values;
        for (const auto& s : series_.steps) {
            if (s.uniform) {
                keys.push_back(static_cast<double>(s.stats.step));
                values.push_back(histogram_percentile(
                    s.uniform->counts, s.uniform->bin_lo, s.uniform->bin_hi, fraction));
            }
        }
        QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis);
        graph->setName(QString::fromLatin1(name));
        graph->setData(keys, values, true);
        graphs[QString::fromLatin1(name)] = graph;
    }
    for (const char* name : {"min", "max"}) {
        QVector<double> keys, values;
        for (const auto& s : series_.steps) {
            keys.push_back(static_cast<double>(s.stats.step));
            values.push_back(QLatin1String(name) == QLatin1String("min") ? s.stats.min
                                                                         : s.stats.max);
        }
        QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis);
        graph->setName(QString::fromLatin1(name));
        graph->setData(keys, values, true);
        graph->setPen(QPen(theme_.foreground, 1, Qt::DotLine));
        graphs[QString::fromLatin1(name)] = graph;
    }
    QColor colour = RunsModel::colourOf(run_id_);
    QColor outer = colour, inner = colour;
    outer.setAlpha(50);
    inner.setAlpha(110);
    graphs["p95"]->setChannelFillGraph(graphs["p5"]);
    graphs["p95"]->setBrush(outer);
    graphs["p75"]->setChannelFillGraph(graphs["p25"]);
    graphs["p75"]->setBrush(inner);
    for (const char* name : {"p5", "p95", "p25", "p75"}) {
        graphs[QString::fromLatin1(name)]->setPen(QPen(colour.lighter(120), 0.8));
    }
    graphs["median"]->setPen(QPen(colour.darker(110), 2));
    graphs["p5"]->setName(tr("5–95 %"));
    graphs["p25"]->setName(tr("25–75 %"));
    graphs["p95"]->removeFromLegend();
    graphs["p75"]->removeFromLegend();
    graphs["max"]->removeFromLegend();
    graphs["min"]->setName(tr("min, max"));
    // Names for the tests: percentileGraph() looks them up by object name.
    for (const auto& [name, graph] : graphs) {
        graph->setObjectName(name);
    }
    plot->yAxis->setScaleType(QCPAxis::stLinear);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    plot->yAxis->setLabel(tr("value"));
    plot->rescaleAxes();
    const QCPRange y = plot->yAxis->range();
    plot->yAxis->setRange(y.lower - y.size() * 0.05, y.upper + y.size() * 0.05);
    const QCPRange x = plot->xAxis->range();
    plot->xAxis->setRange(x.lower - std::max(x.size() * 0.02, 0.5),
                          x.upper + std::max(x.size() * 0.02, 0.5));
    titleOf(plot)->setText(tr("Percentiles over steps (from the value histograms)"));
}

QCPGraph* HistogramInspector::percentileGraph(const QString& name) const {
    for (int i = 0; i < time_plot_->graphCount(); ++i) {
        if (time_plot_->graph(i)->objectName() == name) {
            return time_plot_->graph(i);
        }
    }
    return nullptr;
}

QLabel* HistogramInspector::statisticLabel(const QString& name) const {
    return stats_panel_->findChild<QLabel*>(QStringLiteral("stat_") + name);
}

void HistogramInspector::setStatistic(const QString& name, const QString& text) {
    if (QLabel* label = statisticLabel(name)) {
        label->setText(text);
    }
}

void HistogramInspector::updateStatistics() {
    const int index = slider_->value();
    if (series_.steps.empty() || index >= static_cast<int>(series_.steps.size())) {
        for (QLabel* label : stats_panel_->findChildren<QLabel*>()) {
            if (label->objectName().startsWith(QLatin1String("stat_"))) {
                label->setText(QStringLiteral("—"));
            }
        }
        return;
    }
    const store::TensorStatsRecord& s = series_.steps[static_cast<size_t>(index)].stats;
    const auto info = quantizer_of(s);
    setStatistic(QStringLiteral("quantizer"),
                 info ? QString::fromStdString(info->describe()) : tr("none (full precision)"));
    setStatistic(
        QStringLiteral("codes"),
        info ? QStringLiteral("%1 … %2").arg(info->qn).arg(info->qp) : QStringLiteral("—"));
    setStatistic(
        QStringLiteral("scale"),
        !info ? QStringLiteral("—")
        : s.scale_min == s.scale_max
            ? number(s.scale_min, 6)
            : QStringLiteral("%1 … %2").arg(number(s.scale_min, 6), number(s.scale_max, 6)));
    setStatistic(QStringLiteral("clip_fraction"), percent(s.clip_fraction));
    setStatistic(QStringLiteral("clipped"),
                 info ? QStringLiteral("%1 / %2").arg(s.clipped_low).arg(s.clipped_high)
                      : QStringLiteral("—"));
    setStatistic(QStringLiteral("underflow_fraction"), percent(s.underflow_fraction));
    setStatistic(
        QStringLiteral("sqnr_db"),
        std::isnan(s.sqnr_db) ? number(s.sqnr_db) : number(s.sqnr_db) + QStringLiteral(" dB"));
    setStatistic(QStringLiteral("mse"), number(s.mse));
    setStatistic(QStringLiteral("n"), QString::number(s.n));
    setStatistic(QStringLiteral("range"),
                 QStringLiteral("%1 … %2").arg(number(s.min), number(s.max)));
    const int64_t finite = s.n - s.nan_count - s.inf_count;
    const double mean = finite > 0 ? s.sum / static_cast<double>(finite) : std::nan("");
    const double variance =
        finite > 0 ? s.sumsq / static_cast<double>(finite) - mean * mean : std::nan("");
    setStatistic(
        QStringLiteral("mean_sigma"),
        QStringLiteral("%1, %2").arg(number(mean), number(std::sqrt(std::max(variance, 0.0)))));
    setStatistic(QStringLiteral("nonfinite"),
                 QStringLiteral("%1 / %2").arg(s.nan_count).arg(s.inf_count));
    setStatistic(QStringLiteral("zeros"), QString::number(s.zero_count));
    setStatistic(QStringLiteral("absmax_over_sigma"), number(s.absmax_over_sigma));
    setStatistic(QStringLiteral("kurtosis"), number(s.kurtosis));
}

}  // namespace lowbit::ui
