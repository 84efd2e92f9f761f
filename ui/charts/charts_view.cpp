#include "charts/charts_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "models/runs_model.h"

namespace lowbit::ui {

namespace {

int keyRank(const QString& key) {
    static const QStringList kOrder = {QStringLiteral("train/loss"),
                                       QStringLiteral("val/loss"),
                                       QStringLiteral("lr"),
                                       QStringLiteral("grad_norm"),
                                       QStringLiteral("weight_norm"),
                                       QStringLiteral("throughput/tokens_per_s")};
    const auto at = kOrder.indexOf(key);
    return at < 0 ? static_cast<int>(kOrder.size()) : static_cast<int>(at);
}

QString number(double value) {
    return std::isfinite(value) ? QString::number(value, 'g', 5) : QStringLiteral("NaN");
}

// Charts whose state is the default are not listed, so two equal views compare equal.
void dropDefaultCharts(ChartsState& state) {
    std::erase_if(state.charts, [](const auto& entry) { return entry.second.isDefault(); });
}

const ChartState& chartStateOf(const ChartsState& state, const QString& key) {
    static const ChartState kDefault;
    const auto found = state.charts.find(key);
    return found == state.charts.end() ? kDefault : found->second;
}

}  // namespace

ChartsView::ChartsView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("chartsView"));
    qRegisterMetaType<lowbit::ui::SeriesOptions>();
    auto* controls = new QHBoxLayout;
    mode_ = new QComboBox;
    mode_->setObjectName(QStringLiteral("chartsMode"));
    mode_->addItem(tr("Grid"), static_cast<int>(ChartsMode::kGrid));
    mode_->addItem(tr("Stacked"), static_cast<int>(ChartsMode::kStacked));
    mode_->setToolTip(tr("Stacked: one column of charts sharing the x axis"));
    x_axis_ = new QComboBox;
    x_axis_->setObjectName(QStringLiteral("xAxis"));
    for (auto kind : {XAxisKind::kStep, XAxisKind::kTokens, XAxisKind::kWallTime}) {
        x_axis_->addItem(x_axis_label(kind), static_cast<int>(kind));
    }
    smoothing_ = new QDoubleSpinBox;
    smoothing_->setObjectName(QStringLiteral("smoothing"));
    smoothing_->setRange(0, 0.999);
    smoothing_->setSingleStep(0.05);
    smoothing_->setDecimals(3);
    smoothing_->setValue(kDefaultSmoothing);
    smoothing_->setToolTip(tr("Debiased exponential moving average weight (0 = raw)"));
    log_x_ = new QCheckBox(tr("Log x"));
    log_y_ = new QCheckBox(tr("Log y"));
    log_y_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    baseline_ = new QComboBox;
    baseline_->setObjectName(QStringLiteral("baselineRun"));
    baseline_->setToolTip(tr("The run that differences and ratios are taken against"));
    baseline_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    add_chart_ = new QToolButton;
    add_chart_->setObjectName(QStringLiteral("addChart"));
    add_chart_->setText(tr("Add chart"));
    add_chart_->setPopupMode(QToolButton::InstantPopup);
    add_chart_->setMenu(new QMenu(add_chart_));
    controls->addWidget(mode_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("X axis")));
    controls->addWidget(x_axis_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Smoothing")));
    controls->addWidget(smoothing_);
    controls->addSpacing(12);
    controls->addWidget(log_x_);
    controls->addWidget(log_y_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Baseline")));
    controls->addWidget(baseline_);
    controls->addStretch(1);
    controls->addWidget(add_chart_);

    chart_area_ = new QWidget;
    grid_ = new QGridLayout(chart_area_);
    grid_->setContentsMargins(0, 0, 0, 0);
    grid_->setSpacing(6);
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(chart_area_);
    scroll->setFrameShape(QFrame::NoFrame);

    readout_ = new QTableWidget(0, 7);
    readout_->setObjectName(QStringLiteral("rangeReadout"));
    readout_->setHorizontalHeaderLabels(
        {tr("Run"), tr("Value"), tr("Smoothed"), tr("Min"), tr("Max"), tr("Mean"), tr("Δ")});
    readout_->verticalHeader()->hide();
    readout_->horizontalHeader()->setStretchLastSection(true);
    readout_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(scroll);
    splitter->addWidget(readout_);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 0);
    splitter->setCollapsible(0, false);
    readout_->setMinimumHeight(70);
    splitter->setSizes({800, 100});

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);

    connect(mode_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        setMode(static_cast<ChartsMode>(mode_->currentData().toInt()));
    });
    connect(x_axis_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        setXAxis(static_cast<XAxisKind>(x_axis_->currentData().toInt()));
    });
    connect(smoothing_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double w) {
        setSmoothing(w);
    });
    connect(log_x_, &QCheckBox::toggled, this, [this](bool on) { setLogX(on); });
    connect(log_y_, &QCheckBox::toggled, this, [this](bool on) { setLogY(on); });
    connect(baseline_, qOverload<int>(&QComboBox::activated), this, [this] {
        const QVariant id = baseline_->currentData();
        setBaselineRun(id.isValid() ? std::optional<int64_t>(id.toLongLong()) : std::nullopt);
    });
    connect(add_chart_->menu(), &QMenu::aboutToShow, this, &ChartsView::fillAddMenu);
    connect(runs_, &RunsModel::dataChanged, this, [this] {
        // Names and floors may have changed; colours never do.
        for (auto& [key, chart] : charts_) {
            chart->setChartData(chart->chartData(), styles());
        }
    });
    connect(runs_, &RunsModel::runsChanged, this, &ChartsView::fillBaselines);
    syncControls();
}

XAxisKind ChartsView::xAxis() const {
    return state_.x_axis;
}

double ChartsView::smoothing() const {
    return state_.smoothing;
}

ScalarChart* ChartsView::chart(const QString& key) const {
    const auto found = charts_.find(key);
    return found == charts_.end() ? nullptr : found->second;
}

QList<ScalarChart*> ChartsView::charts() const {
    QList<ScalarChart*> list;
    for (const auto& [key, chart] : charts_) {
        list.push_back(chart);
    }
    return list;
}

QStringList ChartsView::shownKeys() const {
    QStringList keys;
    for (const auto& [key, chart] : charts_) {
        if (!state_.removed_keys.count(key)) {
            keys.push_back(key);
        }
    }
    std::sort(keys.begin(), keys.end(), [](const QString& a, const QString& b) {
        const int ra = keyRank(a);
        const int rb = keyRank(b);
        return ra != rb ? ra < rb : a < b;
    });
    return keys;
}

ChartsState ChartsView::state() const {
    ChartsState state = state_;
    for (const auto& [key, chart] : charts_) {
        ChartState& c = state.charts[key];
        if (chart->isZoomed()) {
            c.x_range = chart->xRange();
            c.y_range = chart->yRange();
        } else {
            c.x_range.reset();
            c.y_range.reset();
        }
    }
    dropDefaultCharts(state);
    return state;
}

SeriesOptions ChartsView::seriesOptions() const {
    SeriesOptions options;
    options.baseline_run = state_.baseline_run;
    for (const auto& [key, c] : state_.charts) {
        if (!c.secondary_key.isEmpty() || !c.derived.empty()) {
            options.charts[key.toStdString()] = {c.secondary_key.toStdString(), c.derived};
        }
    }
    return options;
}

void ChartsView::applyState(ChartsState state, RangePolicy policy) {
    const ChartsState old = this->state();
    const bool x_changed = state.x_axis != old.x_axis;
    if (policy == RangePolicy::kKeepCurrent || x_changed) {
        for (const auto& [key, c] : old.charts) {
            state.charts[key];  // every chart shown with a range gets an entry
        }
        for (auto& [key, c] : state.charts) {
            const ChartState& shown = chartStateOf(old, key);
            const bool keep = policy == RangePolicy::kKeepCurrent && !x_changed;
            c.x_range = keep ? shown.x_range : std::nullopt;
            c.y_range = keep ? shown.y_range : std::nullopt;
        }
    }
    dropDefaultCharts(state);
    state_ = std::move(state);
    syncControls();
    if (x_changed || state_.smoothing != old.smoothing) {
        Q_EMIT displayChanged(static_cast<int>(state_.x_axis), state_.smoothing);
    }
    // Each chart gets its own range here, not one synchronised from a stacked neighbour.
    syncing_ranges_ = true;
    for (auto& [key, chart] : charts_) {
        const ChartState& now = chartStateOf(state_, key);
        const ChartState& before = chartStateOf(old, key);
        if (state_.log_x != old.log_x) {
            chart->setLogX(state_.log_x);
        }
        if (state_.log_y != old.log_y) {
            chart->setLogY(state_.log_y);
        }
        if (now.log_y2 != before.log_y2) {
            chart->setLogY2(now.log_y2);
        }
        if (now.x_range) {
            if (!chart->isZoomed() || chart->xRange() != *now.x_range ||
                (now.y_range && chart->yRange() != *now.y_range)) {
                chart->setZoom(*now.x_range, now.y_range);
            }
        } else if (chart->isZoomed()) {
            chart->resetZoom();
        }
    }
    syncing_ranges_ = false;
    relayout();
    if (seriesOptions() != sent_options_) {
        sent_options_ = seriesOptions();
        Q_EMIT seriesOptionsChanged(sent_options_);
    }
    Q_EMIT stateChanged();
}

void ChartsView::edit(const QString& text,
                      int merge_id,
                      const std::function<void(ChartsState&)>& change) {
    const ChartsState before = state();
    ChartsState after = before;
    change(after);
    dropDefaultCharts(after);
    if (after == before) {
        syncControls();
        return;
    }
    applyState(after, RangePolicy::kKeepCurrent);
    Q_EMIT stateEdited(text, merge_id, before, state());
}

void ChartsView::setXAxis(XAxisKind kind) {
    edit(tr("X Axis"), -1, [kind](ChartsState& s) { s.x_axis = kind; });
}

void ChartsView::setSmoothing(double weight) {
    weight = std::clamp(weight, 0.0, 0.999);
    edit(tr("Smoothing"), kSmoothingEdit, [weight](ChartsState& s) { s.smoothing = weight; });
}

void ChartsView::setLogX(bool on) {
    edit(tr("Log X"), -1, [on](ChartsState& s) { s.log_x = on; });
}

void ChartsView::setLogY(bool on) {
    edit(tr("Log Y"), -1, [on](ChartsState& s) { s.log_y = on; });
}

void ChartsView::setMode(ChartsMode mode) {
    edit(mode == ChartsMode::kStacked ? tr("Stacked Charts") : tr("Chart Grid"),
         -1,
         [mode](ChartsState& s) { s.mode = mode; });
}

void ChartsView::setBaselineRun(std::optional<int64_t> run_id) {
    edit(tr("Baseline Run"), -1, [run_id](ChartsState& s) { s.baseline_run = run_id; });
}

void ChartsView::setSecondaryKey(const QString& key, const QString& secondary_key) {
    edit(tr("Secondary Axis"), -1, [&](ChartsState& s) {
        s.charts[key].secondary_key = secondary_key == key ? QString() : secondary_key;
    });
}

void ChartsView::setSecondaryLog(const QString& key, bool on) {
    edit(tr("Log Scale on the Right Axis"), -1, [&](ChartsState& s) { s.charts[key].log_y2 = on; });
}

void ChartsView::addDerived(const QString& key, const DerivedSpec& spec) {
    edit(tr("Add Derived Series"), -1, [&](ChartsState& s) {
        auto& derived = s.charts[key].derived;
        if (std::find(derived.begin(), derived.end(), spec) == derived.end()) {
            derived.push_back(spec);
        }
    });
}

void ChartsView::removeDerived(const QString& key, int index) {
    edit(tr("Remove Derived Series"), -1, [&](ChartsState& s) {
        auto& derived = s.charts[key].derived;
        if (index >= 0 && index < static_cast<int>(derived.size())) {
            derived.erase(derived.begin() + index);
        }
    });
}

void ChartsView::removeChart(const QString& key) {
    edit(tr("Remove Chart"), -1, [&](ChartsState& s) { s.removed_keys.insert(key); });
}

void ChartsView::addChart(const QString& key) {
    edit(tr("Add Chart"), -1, [&](ChartsState& s) { s.removed_keys.erase(key); });
}

void ChartsView::syncControls() {
    const QSignalBlocker block_mode(mode_);
    const QSignalBlocker block_x(x_axis_);
    const QSignalBlocker block_smoothing(smoothing_);
    const QSignalBlocker block_log_x(log_x_);
    const QSignalBlocker block_log_y(log_y_);
    mode_->setCurrentIndex(mode_->findData(static_cast<int>(state_.mode)));
    x_axis_->setCurrentIndex(x_axis_->findData(static_cast<int>(state_.x_axis)));
    smoothing_->setValue(state_.smoothing);
    log_x_->setChecked(state_.log_x);
    log_y_->setChecked(state_.log_y);
    fillBaselines();
}

void ChartsView::fillBaselines() {
    const QSignalBlocker block(baseline_);
    QStringList listed;
    for (const RunRow& row : runs_->runs()) {
        listed.push_back(QString::number(row.record.id) + QLatin1Char(' ') +
                         QString::fromStdString(row.record.name));
    }
    // The runs are read every poll: the list is rebuilt only when they differ (an open list
    // would close under the person's pointer otherwise).
    if (listed != baseline_runs_) {
        baseline_runs_ = listed;
        baseline_->clear();
        baseline_->addItem(tr("None"));
        for (const RunRow& row : runs_->runs()) {
            baseline_->addItem(QString::fromStdString(row.record.name),
                               QVariant::fromValue<qint64>(row.record.id));
            baseline_->setItemData(
                baseline_->count() - 1, RunsModel::colourOf(row.record.id), Qt::DecorationRole);
        }
    }
    if (!state_.baseline_run) {
        baseline_->setCurrentIndex(0);
        return;
    }
    const QVariant id = QVariant::fromValue<qint64>(*state_.baseline_run);
    if (baseline_->findData(id) < 0) {  // not read yet, or gone from the workspace
        baseline_->addItem(tr("run %1").arg(*state_.baseline_run), id);
    }
    baseline_->setCurrentIndex(baseline_->findData(id));
}

void ChartsView::fillAddMenu() {
    QMenu* menu = add_chart_->menu();
    menu->clear();
    for (const QString& key : state_.removed_keys) {
        connect(menu->addAction(key), &QAction::triggered, this, [this, key] { addChart(key); });
    }
    if (state_.removed_keys.empty()) {
        menu->addAction(tr("(every chart is shown)"))->setEnabled(false);
    }
}

void ChartsView::fillChartMenu(ScalarChart* chart) {
    const QString key = chart->key();
    const ChartState& now = chartStateOf(state_, key);
    QMenu* menu = chart->menu();
    menu->clear();

    QMenu* secondary = menu->addMenu(tr("Secondary axis (right)"));
    QAction* none = secondary->addAction(tr("None"));
    none->setCheckable(true);
    none->setChecked(now.secondary_key.isEmpty());
    connect(none, &QAction::triggered, this, [this, key] { setSecondaryKey(key, {}); });
    for (const auto& [other, other_chart] : charts_) {
        if (other == key) {
            continue;
        }
        QAction* action = secondary->addAction(other);
        action->setCheckable(true);
        action->setChecked(other == now.secondary_key);
        connect(action, &QAction::triggered, this, [this, key, other = other] {
            setSecondaryKey(key, other);
        });
    }
    QAction* log_y2 = menu->addAction(tr("Log scale on the right axis"));
    log_y2->setCheckable(true);
    log_y2->setChecked(now.log_y2);
    log_y2->setEnabled(!now.secondary_key.isEmpty());
    connect(log_y2, &QAction::toggled, this, [this, key](bool on) { setSecondaryLog(key, on); });

    QMenu* add = menu->addMenu(tr("Add derived series"));
    const bool has_baseline = state_.baseline_run.has_value();
    QAction* difference = add->addAction(tr("Difference to the baseline run"));
    difference->setEnabled(has_baseline);
    connect(difference, &QAction::triggered, this, [this, key] {
        addDerived(key, {DerivedKind::kDifference, 0});
    });
    QAction* ratio = add->addAction(tr("Ratio to the baseline run"));
    ratio->setEnabled(has_baseline);
    connect(ratio, &QAction::triggered, this, [this, key] {
        addDerived(key, {DerivedKind::kRatio, 0});
    });
    connect(add->addAction(tr("EMA…")), &QAction::triggered, this, [this, key] {
        bool ok = false;
        const double weight = QInputDialog::getDouble(
            this, tr("EMA of %1").arg(key), tr("Weight (0 to 0.999)"), 0.9, 0, 0.999, 3, &ok);
        if (ok) {
            addDerived(key, {DerivedKind::kEma, weight});
        }
    });
    connect(add->addAction(tr("Derivative d/dx")), &QAction::triggered, this, [this, key] {
        addDerived(key, {DerivedKind::kDerivative, 0});
    });
    if (!now.derived.empty()) {
        QMenu* remove = menu->addMenu(tr("Remove derived series"));
        for (int i = 0; i < static_cast<int>(now.derived.size()); ++i) {
            const QString name =
                QString::fromStdString(derived_suffix(now.derived[static_cast<size_t>(i)]));
            connect(remove->addAction(name), &QAction::triggered, this, [this, key, i] {
                removeDerived(key, i);
            });
        }
    }
    menu->addSeparator();
    connect(menu->addAction(tr("Remove chart")), &QAction::triggered, this, [this, key] {
        removeChart(key);
    });
}

std::map<int64_t, RunStyle> ChartsView::styles() const {
    std::map<int64_t, RunStyle> styles;
    for (const RunRow& row : runs_->runs()) {
        styles[row.record.id] = RunStyle{RunsModel::colourOf(row.record.id),
                                         QString::fromStdString(row.record.name),
                                         row.entropy_floor};
    }
    return styles;
}

ScalarChart* ChartsView::ensureChart(const QString& key) {
    if (auto* existing = chart(key)) {
        return existing;
    }
    auto* chart = new ScalarChart(key, chart_area_);
    charts_[key] = chart;
    const ChartState& pending = chartStateOf(state_, key);
    chart->setLogX(state_.log_x);
    chart->setLogY(state_.log_y);
    chart->setLogY2(pending.log_y2);
    connect(chart, &ScalarChart::viewChanged, this, &ChartsView::chartViewChanged);
    connect(chart,
            &ScalarChart::viewChanged,
            this,
            [this](const QString& k, bool has_range, double lo, double hi) {
                onChartView(k, has_range, lo, hi);
            });
    connect(chart, &ScalarChart::cursorMoved, this, [this](double x) {
        for (auto& [k, c] : charts_) {
            c->setCursorX(x);
        }
    });
    connect(chart, &ScalarChart::activated, this, [this](const QString& k) {
        active_key_ = k;
        updateReadout();
    });
    connect(chart->menu(), &QMenu::aboutToShow, this, [this, chart] { fillChartMenu(chart); });
    if (pending.x_range) {
        chart->setZoom(*pending.x_range, pending.y_range);
    }
    relayout();
    return chart;
}

void ChartsView::onChartView(const QString& key, bool has_range, double lo, double hi) {
    if (state_.mode == ChartsMode::kStacked && !syncing_ranges_) {
        // Stacked charts share one x axis: the range of one is the range of all.
        syncing_ranges_ = true;
        for (const QString& other : shownKeys()) {
            ScalarChart* c = chart(other);
            if (other == key) {
                continue;
            }
            if (has_range) {
                c->setZoom({lo, hi}, std::nullopt);
            } else if (c->isZoomed()) {
                c->resetZoom();
            }
        }
        syncing_ranges_ = false;
    }
    Q_EMIT stateChanged();
}

void ChartsView::relayout() {
    const QStringList shown = shownKeys();
    for (auto& [key, c] : charts_) {
        grid_->removeWidget(c);
    }
    const bool stacked = state_.mode == ChartsMode::kStacked;
    for (int i = 0; i < shown.size(); ++i) {
        grid_->addWidget(chart(shown[i]), stacked ? i : i / 2, stacked ? 0 : i % 2);
    }
    for (auto& [key, c] : charts_) {
        c->setHidden(!shown.contains(key));
    }
    updateMarginGroup();
}

void ChartsView::updateMarginGroup() {
    for (auto& [key, c] : charts_) {
        c->plot()->axisRect()->setMarginGroup(QCP::msLeft | QCP::msRight, nullptr);
    }
    delete margin_group_;
    const QStringList shown = shownKeys();
    if (state_.mode != ChartsMode::kStacked || shown.isEmpty()) {
        return;
    }
    // One margin group over the stacked plots gives their axis rects the same left and right
    // edges, so one x value sits at one screen column in every chart.
    margin_group_ = new QCPMarginGroup(chart(shown.front())->plot());
    for (const QString& key : shown) {
        chart(key)->plot()->axisRect()->setMarginGroup(QCP::msLeft | QCP::msRight, margin_group_);
        chart(key)->requestReplot();
    }
}

void ChartsView::onChartsRead(const std::vector<ChartData>& charts) {
    const auto run_styles = styles();
    for (const ChartData& chart_data : charts) {
        ensureChart(chart_data.key)->setChartData(chart_data, run_styles);
    }
    if (state_.mode == ChartsMode::kStacked) {
        // New data may widen one chart's axis labels: the others follow its margin.
        for (const QString& key : shownKeys()) {
            chart(key)->requestReplot();
        }
    }
    updateReadout();
}

void ChartsView::updateReadout() {
    ScalarChart* active = chart(active_key_);
    if (!active && !charts_.empty()) {
        active = charts_.begin()->second;
    }
    readout_->setRowCount(0);
    if (!active) {
        return;
    }
    const auto run_styles = styles();
    const auto& runs = active->chartData().runs;
    readout_->setRowCount(static_cast<int>(runs.size()));
    for (int row = 0; row < static_cast<int>(runs.size()); ++row) {
        const RunChartData& run = runs[static_cast<size_t>(row)];
        const auto style = run_styles.find(run.run_id);
        auto* name = new QTableWidgetItem(style == run_styles.end() ? QString::number(run.run_id)
                                                                    : style->second.name);
        if (style != run_styles.end()) {
            name->setData(Qt::DecorationRole, style->second.colour);
        }
        readout_->setItem(row, 0, name);
        const RangeStats& s = run.stats;
        const double values[] = {s.last, s.last_smoothed, s.min, s.max, s.mean, s.delta};
        for (int c = 0; c < 6; ++c) {
            readout_->setItem(
                row, c + 1, new QTableWidgetItem(s.count > 0 ? number(values[c]) : QString()));
        }
    }
    readout_->resizeColumnsToContents();
    readout_->setToolTip(tr("Over the visible range of %1").arg(active->key()));
}

void ChartsView::applyTheme() {
    const PlotTheme theme = PlotTheme::fromPalette(palette());
    for (auto& [key, chart] : charts_) {
        chart->setTheme(theme);
    }
}

}  // namespace lowbit::ui
