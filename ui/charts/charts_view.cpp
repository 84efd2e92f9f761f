#include "charts/charts_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

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

}  // namespace

ChartsView::ChartsView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("chartsView"));
    auto* controls = new QHBoxLayout;
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
    controls->addWidget(new QLabel(tr("X axis")));
    controls->addWidget(x_axis_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Smoothing")));
    controls->addWidget(smoothing_);
    controls->addSpacing(12);
    controls->addWidget(log_x_);
    controls->addWidget(log_y_);
    controls->addStretch(1);

    auto* chart_area = new QWidget;
    grid_ = new QGridLayout(chart_area);
    grid_->setContentsMargins(0, 0, 0, 0);
    grid_->setSpacing(6);
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(chart_area);
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
    readout_->setMinimumHeight(90);
    splitter->setSizes({700, 150});

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(splitter, 1);

    auto emitDisplay = [this] { Q_EMIT displayChanged(static_cast<int>(xAxis()), smoothing()); };
    connect(x_axis_, qOverload<int>(&QComboBox::currentIndexChanged), this, emitDisplay);
    connect(smoothing_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, emitDisplay);
    connect(log_x_, &QCheckBox::toggled, this, [this](bool on) {
        for (auto& [key, chart] : charts_) {
            chart->setLogX(on);
        }
    });
    connect(log_y_, &QCheckBox::toggled, this, [this](bool on) {
        for (auto& [key, chart] : charts_) {
            chart->setLogY(on);
        }
    });
    connect(runs_, &RunsModel::dataChanged, this, [this] {
        // Names and floors may have changed; colours never do.
        for (auto& [key, chart] : charts_) {
            chart->setChartData(chart->chartData(), styles());
        }
    });
}

XAxisKind ChartsView::xAxis() const {
    return static_cast<XAxisKind>(x_axis_->currentData().toInt());
}

double ChartsView::smoothing() const {
    return smoothing_->value();
}

void ChartsView::setXAxis(XAxisKind kind) {
    x_axis_->setCurrentIndex(x_axis_->findData(static_cast<int>(kind)));
}

void ChartsView::setSmoothing(double weight) {
    smoothing_->setValue(weight);
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
    auto* chart = new ScalarChart(key);
    charts_[key] = chart;
    chart->setLogX(log_x_->isChecked());
    chart->setLogY(log_y_->isChecked());
    connect(chart, &ScalarChart::viewChanged, this, &ChartsView::chartViewChanged);
    connect(chart, &ScalarChart::cursorMoved, this, [this](double x) {
        for (auto& [k, c] : charts_) {
            c->setCursorX(x);
        }
    });
    connect(chart, &ScalarChart::activated, this, [this](const QString& k) {
        active_key_ = k;
        updateReadout();
    });
    relayout();
    return chart;
}

void ChartsView::relayout() {
    QList<ScalarChart*> ordered = charts();
    std::sort(ordered.begin(), ordered.end(), [](ScalarChart* a, ScalarChart* b) {
        const int ra = keyRank(a->key());
        const int rb = keyRank(b->key());
        return ra != rb ? ra < rb : a->key() < b->key();
    });
    for (ScalarChart* c : ordered) {
        grid_->removeWidget(c);
    }
    for (int i = 0; i < ordered.size(); ++i) {
        grid_->addWidget(ordered[i], i / 2, i % 2);
    }
}

void ChartsView::onChartsRead(const std::vector<ChartData>& charts) {
    const auto run_styles = styles();
    for (const ChartData& chart_data : charts) {
        ensureChart(chart_data.key)->setChartData(chart_data, run_styles);
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
