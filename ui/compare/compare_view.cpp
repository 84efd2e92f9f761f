#include "compare/compare_view.h"

#include "lowbit/config/recipe_schema.h"
#include "lowbit/store/open_for_reading.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>
#include <map>
#include <set>

#include "charts/charts_view.h"
#include "charts/decimation.h"
#include "charts/ema_smoothing.h"
#include "charts/plot_theme.h"
#include "charts/scalar_chart.h"
#include "compare/config_diff_model.h"
#include "compare/results_model.h"
#include "compare/run_groups.h"
#include "compare/seed_groups_model.h"
#include "export/plot_export_menu.h"
#include "models/runs_model.h"

namespace lowbit::ui {

namespace {

constexpr int kRefreshDelayMs = 100;  // coalesces the browser's bursts of visibility changes

QTableView* makeTable(QAbstractItemModel* model) {
    auto* table = new QTableView;
    table->setModel(model);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    return table;
}

}  // namespace

CompareView::CompareView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("compareView"));
    config_diff_ = new ConfigDiffModel(this);
    results_ = new RunResultsModel(this);
    seed_groups_ = new SeedGroupsModel(this);
    smoothing_ = ChartsView::kDefaultSmoothing;
    buildControls();
    refresh_timer_.setSingleShot(true);
    refresh_timer_.setInterval(kRefreshDelayMs);
    connect(&refresh_timer_, &QTimer::timeout, this, &CompareView::refresh);
    connect(runs_, &RunsModel::visibleRunsChanged, this, [this] {
        if (source_group_.isEmpty()) {
            scheduleRefresh();
        }
    });
    connect(runs_, &RunsModel::runsChanged, this, &CompareView::updateSources);
    updateSources();
}

CompareView::~CompareView() = default;

void CompareView::buildControls() {
    source_box_ = new QComboBox;
    source_box_->setToolTip(tr("The runs compared: those shown on the charts, or a sweep group"));
    baseline_box_ = new QComboBox;
    baseline_box_->setToolTip(tr("The run the others are compared with"));
    key_box_ = new QComboBox;
    key_box_->setToolTip(tr("The scalar drawn for every run and every group"));
    key_box_->setMinimumContentsLength(16);
    smoothing_box_ = new QDoubleSpinBox;
    smoothing_box_->setRange(0.0, 0.99);
    smoothing_box_->setSingleStep(0.05);
    smoothing_box_->setValue(smoothing_);
    smoothing_box_->setToolTip(tr("Smoothing weight of the curves (debiased EMA, 0: raw)"));
    auto* refresh_button = new QPushButton(tr("Refresh"));

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Runs")));
    top->addWidget(source_box_);
    top->addWidget(new QLabel(tr("Baseline")));
    top->addWidget(baseline_box_, 1);
    top->addWidget(new QLabel(tr("Key")));
    top->addWidget(key_box_);
    top->addWidget(new QLabel(tr("Smoothing")));
    top->addWidget(smoothing_box_);
    top->addWidget(refresh_button);

    grouping_box_ = new QComboBox;
    grouping_box_->addItem(tr("configuration (seeds pooled)"),
                           QString::fromLatin1(kGroupByConfiguration));
    grouping_box_->addItem(tr("sweep group"), QString::fromLatin1(kGroupBySweep));
    for (const config::FieldSpec& field : config::recipe_fields()) {
        const QString path = QString::fromStdString(field.path);
        grouping_box_->addItem(path, path);
        grouping_box_->setItemData(
            grouping_box_->count() - 1, QString::fromStdString(field.doc), Qt::ToolTipRole);
    }
    grouping_box_->setToolTip(tr("Runs with the same value form one group"));
    centre_box_ = new QComboBox;
    centre_box_->addItem(tr("mean"), static_cast<int>(GroupCentre::kMean));
    centre_box_->addItem(tr("median"), static_cast<int>(GroupCentre::kMedian));
    band_box_ = new QComboBox;
    band_box_->addItem(tr("min-max"), static_cast<int>(GroupBand::kMinMax));
    band_box_->addItem(tr("± sd"), static_cast<int>(GroupBand::kStdDev));
    band_box_->addItem(tr("± SEM"), static_cast<int>(GroupBand::kStdError));
    members_box_ = new QCheckBox(tr("Members"));
    members_box_->setChecked(show_members_);
    members_box_->setToolTip(tr("Draw each member run's curve under its group's"));
    auto* group_controls = new QHBoxLayout;
    group_controls->addWidget(new QLabel(tr("Group by")));
    group_controls->addWidget(grouping_box_, 1);
    group_controls->addWidget(centre_box_);
    group_controls->addWidget(band_box_);
    group_controls->addWidget(members_box_);

    group_plot_ = new QCustomPlot;
    group_plot_->setObjectName(QStringLiteral("compareGroupPlot"));
    group_plot_->setMinimumSize(320, 250);
    group_plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    group_plot_->axisRect()->setRangeZoom(Qt::Horizontal);
    group_plot_->axisRect()->setRangeDrag(Qt::Horizontal);
    group_plot_->xAxis->setLabel(x_axis_label(XAxisKind::kStep));
    group_plot_->legend->setVisible(true);
    group_plot_->legend->setFont(QFont(font().family(), 8));
    install_plot_export_menu(group_plot_, QStringLiteral("compare-groups"));
    connect(group_plot_, &QCustomPlot::mouseDoubleClick, this, [this] {
        group_plot_->rescaleAxes();
        group_plot_->replot();
    });
    auto* group_panel = new QWidget;
    auto* group_layout = new QVBoxLayout(group_panel);
    group_layout->setContentsMargins(0, 0, 0, 0);
    group_layout->addLayout(group_controls);
    group_layout->addWidget(group_plot_, 1);

    auto* curves_panel = new QWidget;
    curves_holder_ = new QVBoxLayout(curves_panel);
    curves_holder_->setContentsMargins(0, 0, 0, 0);
    curves_ = new ScalarChart(key_);
    curves_holder_->addWidget(curves_);

    auto* plots = new QSplitter(Qt::Horizontal);
    plots->addWidget(curves_panel);
    plots->addWidget(group_panel);

    diff_only_ = new QCheckBox(tr("Differences only"));
    auto* diff_panel = new QWidget;
    auto* diff_layout = new QVBoxLayout(diff_panel);
    diff_layout->setContentsMargins(0, 0, 0, 0);
    diff_layout->addWidget(diff_only_);
    diff_layout->addWidget(makeTable(config_diff_), 1);
    auto* tabs = new QTabWidget;
    tabs->addTab(diff_panel, tr("Config diff"));
    tabs->addTab(makeTable(results_), tr("Results"));
    tabs->addTab(makeTable(seed_groups_), tr("Seed groups"));

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(plots);
    split->addWidget(tabs);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    message_ = new QLabel;
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(message_);
    layout->addWidget(split, 1);

    connect(source_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!updating_controls_) {
            setSourceGroup(source_box_->currentData().toString());
        }
    });
    connect(baseline_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!updating_controls_) {
            setBaseline(baseline_box_->currentData().toLongLong());
        }
    });
    connect(key_box_, &QComboBox::currentTextChanged, this, [this](const QString& key) {
        if (!updating_controls_ && !key.isEmpty()) {
            setKey(key);
        }
    });
    connect(smoothing_box_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] {
        if (!updating_controls_) {
            setSmoothing(smoothing_box_->value());
        }
    });
    connect(refresh_button, &QPushButton::clicked, this, &CompareView::refresh);
    connect(grouping_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!updating_controls_) {
            setGrouping(grouping_box_->currentData().toString());
        }
    });
    connect(centre_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!updating_controls_) {
            setCentre(static_cast<GroupCentre>(centre_box_->currentData().toInt()));
        }
    });
    connect(band_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!updating_controls_) {
            setBand(static_cast<GroupBand>(band_box_->currentData().toInt()));
        }
    });
    connect(members_box_, &QCheckBox::toggled, this, &CompareView::setShowMembers);
    connect(diff_only_, &QCheckBox::toggled, config_diff_, &ConfigDiffModel::setDiffOnly);
    // The keys that tell runs apart are what a comparison is read for; the rest is one click away.
    diff_only_->setChecked(true);
    applyTheme();
}

void CompareView::setWorkspace(const QString& root) {
    reader_.reset();
    workspace_.reset();
    workspace_error_.clear();
    try {
        workspace_ =
            std::make_unique<store::Workspace>(store::open_for_reading(root.toStdString()));
        reader_ = std::make_unique<store::RunReader>(*workspace_);
    } catch (const std::exception& error) {
        workspace_error_ = QString::fromStdString(error.what());
    }
    scheduleRefresh();
}

void CompareView::scheduleRefresh() {
    stale_ = true;
    if (isVisible()) {
        refresh_timer_.start();
    }
}

void CompareView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) {
        refresh_timer_.start();
    }
}

void CompareView::updateSources() {
    std::set<QString> groups;
    for (const RunRow& row : runs_->runs()) {
        if (!row.record.group_name.empty()) {
            groups.insert(QString::fromStdString(row.record.group_name));
        }
    }
    QStringList wanted{QString()};
    wanted.append(QStringList(groups.begin(), groups.end()));
    QStringList present;
    for (int i = 0; i < source_box_->count(); ++i) {
        present << source_box_->itemData(i).toString();
    }
    if (present == wanted) {
        return;
    }
    updating_controls_ = true;
    source_box_->clear();
    source_box_->addItem(tr("shown on the charts"), QString());
    for (const QString& group : groups) {
        source_box_->addItem(tr("group: %1").arg(group), group);
    }
    source_box_->setCurrentIndex(std::max(0, source_box_->findData(source_group_)));
    updating_controls_ = false;
}

std::vector<int64_t> CompareView::sourceRuns() const {
    if (source_group_.isEmpty()) {
        return runs_->visibleRuns();
    }
    std::vector<int64_t> ids;
    for (const RunRow& row : runs_->runs()) {
        if (QString::fromStdString(row.record.group_name) == source_group_) {
            ids.push_back(row.record.id);
        }
    }
    return ids;
}

void CompareView::setSourceGroup(const QString& group) {
    source_group_ = group;
    updating_controls_ = true;
    source_box_->setCurrentIndex(std::max(0, source_box_->findData(group)));
    updating_controls_ = false;
    refresh();
}

void CompareView::refresh() {
    refresh_timer_.stop();
    stale_ = false;
    run_ids_ = sourceRuns();
    compared_.clear();
    series_ = ChartSeriesBuilder();
    if (reader_) {
        try {
            compared_ = read_compare_runs(*reader_, run_ids_);
            for (const CompareRun& run : compared_) {
                series_.add_scalars(reader_->scalars(run.record.id));
                series_.add_events(reader_->events(run.record.id));
            }
        } catch (const std::exception& error) {
            workspace_error_ = QString::fromStdString(error.what());
        }
    }
    run_ids_.clear();
    QStringList unreadable;
    for (const CompareRun& run : compared_) {
        run_ids_.push_back(run.record.id);
        if (!run.recipe.recipe) {
            unreadable << tr("%1: %2").arg(QString::fromStdString(run.record.name),
                                           QString::fromStdString(run.recipe.error));
        }
    }
    recipe_errors_ = unreadable.isEmpty()
                         ? QString()
                         : tr("Recipe unreadable, its config column left empty: %1")
                               .arg(unreadable.join(QStringLiteral("; ")));
    message_->setText(message());
    message_->setVisible(!message_->text().isEmpty());
    if (std::find(run_ids_.begin(), run_ids_.end(), baseline_) == run_ids_.end()) {
        // The oldest compared run: a baseline is usually run first.
        baseline_ = 0;
        double oldest = 0;
        for (const CompareRun& run : compared_) {
            if (baseline_ == 0 || run.record.created_at < oldest) {
                baseline_ = run.record.id;
                oldest = run.record.created_at;
            }
        }
    }
    updateBaselineBox();
    updateKeyBox();
    fillTables();
    drawCurves();
    regroup();
    drawGroups();
}

QString CompareView::message() const {
    QStringList parts;
    if (!workspace_error_.isEmpty()) {
        parts << workspace_error_;
    }
    if (!recipe_errors_.isEmpty()) {
        parts << recipe_errors_;
    }
    return parts.join(QLatin1Char('\n'));
}

void CompareView::updateBaselineBox() {
    updating_controls_ = true;
    baseline_box_->clear();
    for (const CompareRun& run : compared_) {
        baseline_box_->addItem(QString::fromStdString(run.record.name),
                               QVariant::fromValue<qint64>(run.record.id));
    }
    baseline_box_->setCurrentIndex(
        std::max(0, baseline_box_->findData(QVariant::fromValue<qint64>(baseline_))));
    updating_controls_ = false;
}

void CompareView::updateKeyBox() {
    const std::vector<std::string> keys = series_.keys(run_ids_);
    updating_controls_ = true;
    key_box_->clear();
    for (const std::string& key : keys) {
        key_box_->addItem(QString::fromStdString(key));
    }
    if (!keys.empty() && key_box_->findText(key_) < 0) {
        const bool has_loss = key_box_->findText(QStringLiteral("train/loss")) >= 0;
        key_ = has_loss ? QStringLiteral("train/loss") : key_box_->itemText(0);
    }
    key_box_->setCurrentIndex(key_box_->findText(key_));
    updating_controls_ = false;
}

void CompareView::setBaseline(int64_t run_id) {
    baseline_ = run_id;
    updating_controls_ = true;
    baseline_box_->setCurrentIndex(
        std::max(0, baseline_box_->findData(QVariant::fromValue<qint64>(run_id))));
    updating_controls_ = false;
    fillTables();
}

void CompareView::setKey(const QString& key) {
    key_ = key;
    updating_controls_ = true;
    key_box_->setCurrentIndex(key_box_->findText(key));
    updating_controls_ = false;
    drawCurves();
    drawGroups();
}

void CompareView::setGrouping(const QString& grouping) {
    grouping_ = grouping;
    updating_controls_ = true;
    grouping_box_->setCurrentIndex(std::max(0, grouping_box_->findData(grouping)));
    updating_controls_ = false;
    regroup();
    drawGroups();
}

void CompareView::setCentre(GroupCentre centre) {
    centre_ = centre;
    updating_controls_ = true;
    centre_box_->setCurrentIndex(centre_box_->findData(static_cast<int>(centre)));
    updating_controls_ = false;
    drawGroups();
}

void CompareView::setBand(GroupBand band) {
    band_ = band;
    updating_controls_ = true;
    band_box_->setCurrentIndex(band_box_->findData(static_cast<int>(band)));
    updating_controls_ = false;
    drawGroups();
}

void CompareView::setShowMembers(bool on) {
    show_members_ = on;
    members_box_->setChecked(on);
    drawGroups();
}

void CompareView::setSmoothing(double weight) {
    smoothing_ = weight;
    updating_controls_ = true;
    smoothing_box_->setValue(weight);
    updating_controls_ = false;
    drawCurves();
    drawGroups();
}

void CompareView::applyTheme() {
    PlotTheme::fromPalette(palette()).apply(*group_plot_);
    group_plot_->replot();
    curves_->setTheme(PlotTheme::fromPalette(palette()));
}

void CompareView::fillTables() {
    size_t baseline_index = 0;
    std::vector<RecipeRun> recipes;
    std::vector<ResultsRun> results;
    for (size_t i = 0; i < compared_.size(); ++i) {
        const CompareRun& run = compared_[i];
        const QString name = QString::fromStdString(run.record.name);
        recipes.push_back({name, run.recipe});
        results.push_back({run.record.id, name, run.results});
        if (run.record.id == baseline_) {
            baseline_index = i;
        }
    }
    config_diff_->setRuns(std::move(recipes), baseline_index);
    results_->setRuns(std::move(results), baseline_index);
}

void CompareView::drawCurves() {
    if (curves_->key() != key_) {
        // A chart draws one key (its title): a new key is a new chart.
        auto* chart = new ScalarChart(key_);
        delete curves_holder_->replaceWidget(curves_, chart);
        delete curves_;
        curves_ = chart;
        curves_->setTheme(PlotTheme::fromPalette(palette()));
    }
    ChartRequest request;
    request.smoothing = smoothing_;
    request.pixel_columns = std::max(200, curves_->width());
    std::map<int64_t, RunStyle> styles;
    for (const CompareRun& run : compared_) {
        const QString name = QString::fromStdString(run.record.name);
        styles[run.record.id] = {RunsModel::colourOf(run.record.id),
                                 run.record.id == baseline_ ? tr("%1 (baseline)").arg(name) : name,
                                 std::nullopt};
    }
    curves_->setChartData(series_.build(key_.toStdString(), run_ids_, request), styles);
}

void CompareView::regroup() {
    groups_.clear();
    if (!reader_) {
        return;
    }
    try {
        groups_ = group_runs(compared_, grouping_.toStdString());
    } catch (const std::exception& error) {
        workspace_error_ = QString::fromStdString(error.what());
        message_->setText(message());
        message_->setVisible(true);
    }
}

void CompareView::drawGroups() {
    group_plot_->clearGraphs();
    group_curves_.clear();
    const std::string key = key_.toStdString();
    // The plot draws at most a few points per pixel column (docs/studio.md §Decimation): with
    // 20 runs of 20,000 steps the full series would cost far more to draw than to compute.
    const int columns = std::max(200, group_plot_->width());
    auto decimated = [columns](const std::vector<double>& x, const std::vector<double>& y) {
        std::pair<QVector<double>, QVector<double>> out;
        if (x.empty()) {
            return out;
        }
        for (size_t i : decimate_min_max_last(x, y, x.front(), x.back(), columns)) {
            out.first.push_back(x[i]);
            out.second.push_back(y[i]);
        }
        return out;
    };
    for (size_t g = 0; g < groups_.size(); ++g) {
        const store::SeedAggregate& group = groups_[g];
        const QColor colour = RunsModel::colourOf(static_cast<int64_t>(g) + 1);
        std::vector<StepSeries> members;
        for (int64_t id : group.run_ids) {
            StepSeries series;
            if (const auto* samples = series_.samples(id, key)) {
                series.reserve(samples->size());
                for (const ScalarSample& sample : *samples) {
                    series.emplace_back(sample.step, sample.value);
                }
            }
            members.push_back(std::move(series));
        }
        std::vector<BandPoint> curve = group_curve(members, centre_, band_);
        std::vector<double> x, centre, lo, hi;
        for (const BandPoint& point : curve) {
            x.push_back(static_cast<double>(point.step));
            centre.push_back(point.centre);
            lo.push_back(point.lo);
            hi.push_back(point.hi);
        }
        if (show_members_) {
            QColor faint = colour;
            faint.setAlpha(70);
            for (size_t m = 0; m < members.size(); ++m) {
                std::vector<double> mx, my;
                for (const auto& [step, value] : members[m]) {
                    mx.push_back(static_cast<double>(step));
                    my.push_back(value);
                }
                const auto [dx, dy] = decimated(mx, smooth_debiased_ema(my, smoothing_));
                QCPGraph* member = group_plot_->addGraph();
                member->setData(dx, dy, true);
                member->setPen(QPen(faint, 1));
                // Twenty faint antialiased lines cost most of the plot's drawing time; at one
                // pixel and this alpha, aliasing does not show.
                member->setAntialiased(false);
                member->setProperty("role", QStringLiteral("member"));
                member->setProperty("run", QVariant::fromValue<qint64>(group.run_ids[m]));
                member->removeFromLegend();
            }
        }
        // The band's edges keep the points the centre keeps, so the fill between them pairs
        // points of the same step.
        const std::vector<double> smooth_centre = smooth_debiased_ema(centre, smoothing_);
        const std::vector<double> smooth_lo = smooth_debiased_ema(lo, smoothing_);
        const std::vector<double> smooth_hi = smooth_debiased_ema(hi, smoothing_);
        QVector<double> kept_x, kept_centre, kept_lo, kept_hi;
        if (!x.empty()) {
            for (size_t i : decimate_min_max_last(x, smooth_centre, x.front(), x.back(), columns)) {
                kept_x.push_back(x[i]);
                kept_centre.push_back(smooth_centre[i]);
                kept_lo.push_back(smooth_lo[i]);
                kept_hi.push_back(smooth_hi[i]);
            }
        }
        QColor fill = colour;
        fill.setAlpha(50);
        QCPGraph* lower = group_plot_->addGraph();
        lower->setData(kept_x, kept_lo, true);
        lower->setPen(Qt::NoPen);
        lower->setProperty("role", QStringLiteral("band-lo"));
        lower->removeFromLegend();
        QCPGraph* upper = group_plot_->addGraph();
        upper->setData(kept_x, kept_hi, true);
        upper->setPen(Qt::NoPen);
        upper->setBrush(fill);
        upper->setChannelFillGraph(lower);
        upper->setProperty("role", QStringLiteral("band-hi"));
        upper->removeFromLegend();
        QCPGraph* line = group_plot_->addGraph();
        line->setData(kept_x, kept_centre, true);
        line->setPen(QPen(colour, 2));
        line->setName(QStringLiteral("%1 (%2)")
                          .arg(QString::fromStdString(group.label))
                          .arg(group.run_ids.size()));
        line->setProperty("role", QStringLiteral("centre"));
        group_curves_.push_back(std::move(curve));
    }
    seed_groups_->setGroups(groups_);
    group_plot_->yAxis->setLabel(key_);
    group_plot_->rescaleAxes();
    group_plot_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lowbit::ui
