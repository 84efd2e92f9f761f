#include "health/cross_run_view.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "charts/qcustomplot_include.h"
#include "export/plot_export_menu.h"
#include "histograms/histogram_math.h"
#include "models/runs_model.h"

namespace lowbit::ui {

namespace {

constexpr int kStepLabels = 12;

QCPTextElement* addTitle(QCustomPlot* plot, const QFont& font) {
    plot->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(plot, QString(), QFont(font.family(), 10, QFont::Bold));
    plot->plotLayout()->addElement(0, 0, title);
    return title;
}

QCPTextElement* titleOf(QCustomPlot* plot) {
    return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0));
}

}  // namespace

CrossRunView::CrossRunView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("crossRunHistograms"));
    buildControls();
    applyTheme();
    if (runs_ != nullptr) {
        connect(runs_, &QAbstractItemModel::modelReset, this, &CrossRunView::refreshRunList);
        connect(runs_, &QAbstractItemModel::rowsInserted, this, &CrossRunView::refreshRunList);
        connect(runs_, &QAbstractItemModel::rowsRemoved, this, &CrossRunView::refreshRunList);
        refreshRunList();
    }
}

void CrossRunView::buildControls() {
    auto* side = new QWidget;
    auto* side_layout = new QVBoxLayout(side);
    side_layout->setContentsMargins(0, 0, 0, 0);
    auto* form = new QFormLayout;
    layer_box_ = new QComboBox;
    layer_box_->setObjectName(QStringLiteral("crossRunLayer"));
    layer_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    layer_box_->setMinimumContentsLength(14);
    kind_box_ = new QComboBox;
    kind_box_->setObjectName(QStringLiteral("crossRunKind"));
    for (const std::string& kind : tensor_kinds()) {
        kind_box_->addItem(QString::fromStdString(tensor_kind_short(kind) + "  (" + kind + ")"),
                           QString::fromStdString(kind));
    }
    match_box_ = new QComboBox;
    match_box_->setObjectName(QStringLiteral("crossRunMatch"));
    match_box_->addItems({tr("Same step"), tr("Same token count")});
    form->addRow(tr("Layer"), layer_box_);
    form->addRow(tr("Tensor"), kind_box_);
    form->addRow(tr("Match by"), match_box_);
    side_layout->addLayout(form);
    side_layout->addWidget(new QLabel(tr("Runs (the first checked is A, the second B)")));
    run_list_ = new QListWidget;
    run_list_->setObjectName(QStringLiteral("crossRunRuns"));
    side_layout->addWidget(run_list_, 1);

    auto* main = new QWidget;
    auto* main_layout = new QVBoxLayout(main);
    main_layout->setContentsMargins(0, 0, 0, 0);
    auto* step_bar = new QHBoxLayout;
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setObjectName(QStringLiteral("crossRunStep"));
    slider_->setRange(0, 0);
    step_label_ = new QLabel;
    step_label_->setMinimumWidth(110);
    step_bar->addWidget(new QLabel(tr("Step of A")));
    step_bar->addWidget(slider_, 1);
    step_bar->addWidget(step_label_);
    main_layout->addLayout(step_bar);
    message_ = new QLabel;
    message_->setObjectName(QStringLiteral("crossRunMessage"));
    message_->setWordWrap(true);
    message_->setVisible(false);
    main_layout->addWidget(message_);

    auto* splitter = new QSplitter(Qt::Vertical);
    overlay_plot_ = new QCustomPlot;
    overlay_plot_->setObjectName(QStringLiteral("crossRunOverlay"));
    difference_plot_ = new QCustomPlot;
    difference_plot_->setObjectName(QStringLiteral("crossRunDifference"));
    install_plot_export_menu(overlay_plot_, QStringLiteral("cross-run-histograms"));
    install_plot_export_menu(difference_plot_, QStringLiteral("cross-run-difference"));
    for (QCustomPlot* plot : {overlay_plot_, difference_plot_}) {
        addTitle(plot, font());
        plot->setMinimumHeight(180);
        plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
        plot->axisRect()->setRangeZoom(Qt::Horizontal);
        plot->axisRect()->setRangeDrag(Qt::Horizontal);
    }
    overlay_plot_->legend->setVisible(true);
    overlay_plot_->legend->setFont(QFont(font().family(), 8));
    overlay_plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    overlay_plot_->xAxis->setLabel(tr("value (common bins)"));
    overlay_plot_->yAxis->setLabel(tr("count"));
    difference_plot_->xAxis->setLabel(tr("step"));
    difference_plot_->yAxis->setLabel(tr("value (common bins)"));
    difference_scale_ = new QCPColorScale(difference_plot_);
    difference_scale_->setType(QCPAxis::atRight);
    difference_scale_->setBarWidth(12);
    difference_scale_->axis()->setLabel(tr("count A − B"));
    difference_plot_->plotLayout()->addElement(1, 1, difference_scale_);
    auto* margins = new QCPMarginGroup(difference_plot_);
    difference_plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    difference_scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    splitter->addWidget(overlay_plot_);
    splitter->addWidget(difference_plot_);
    main_layout->addWidget(splitter, 1);

    auto* outer = new QSplitter(Qt::Horizontal);
    outer->addWidget(side);
    outer->addWidget(main);
    outer->setStretchFactor(1, 1);
    outer->setSizes({280, 1000});
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(outer);

    connect(layer_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setTensor(layer_box_->itemText(index), QString::fromStdString(kind_));
        }
    });
    connect(kind_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setKind(kind_box_->itemData(index).toString());
        }
    });
    connect(match_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int index) {
        if (!updating_controls_ && index >= 0) {
            setMatch(static_cast<CrossRunMatch>(index));
        }
    });
    connect(slider_, &QSlider::valueChanged, this, [this] {
        if (!updating_controls_) {
            redraw();
        }
    });
    connect(run_list_, &QListWidget::itemChanged, this, [this](QListWidgetItem* item) {
        if (updating_controls_) {
            return;
        }
        // Checked runs keep the order they were checked in: the first is A, the second B.
        QList<qint64> runs = chosen_;
        const qint64 id = item->data(Qt::UserRole).toLongLong();
        runs.removeAll(id);
        if (item->checkState() == Qt::Checked) {
            runs.push_back(id);
        }
        setRuns(runs);
    });
}

void CrossRunView::connectReader(CrossRunReader* reader) {
    connect(reader, &CrossRunReader::dataRead, this, &CrossRunView::onDataRead);
    connect(reader, &CrossRunReader::failed, this, [this](const QString& text) {
        message_->setText(text);
        message_->setVisible(true);
    });
    connect(
        this, &CrossRunView::readRequested, reader, &CrossRunReader::read, Qt::QueuedConnection);
    refresh();
}

void CrossRunView::refreshRunList() {
    if (runs_ == nullptr) {
        return;
    }
    updating_controls_ = true;
    run_list_->clear();
    for (const RunRow& row : runs_->runs()) {
        auto* item = new QListWidgetItem(QStringLiteral("%1  #%2")
                                             .arg(QString::fromStdString(row.record.name))
                                             .arg(row.record.id),
                                         run_list_);
        item->setData(Qt::UserRole, QVariant::fromValue<qlonglong>(row.record.id));
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(chosen_.contains(row.record.id) ? Qt::Checked : Qt::Unchecked);
        item->setForeground(RunsModel::colourOf(row.record.id));
    }
    updating_controls_ = false;
}

void CrossRunView::setRuns(const QList<qint64>& run_ids) {
    chosen_.clear();
    for (qint64 id : run_ids) {
        if (!chosen_.contains(id)) {
            chosen_.push_back(id);
        }
    }
    updating_controls_ = true;
    for (int i = 0; i < run_list_->count(); ++i) {
        QListWidgetItem* item = run_list_->item(i);
        item->setCheckState(
            chosen_.contains(item->data(Qt::UserRole).toLongLong()) ? Qt::Checked : Qt::Unchecked);
    }
    updating_controls_ = false;
    refresh();
}

void CrossRunView::setReferenceRun(int64_t run_id) {
    if (run_id == 0 || (!chosen_.isEmpty() && chosen_.front() == run_id)) {
        return;
    }
    QList<qint64> runs = chosen_;
    runs.removeAll(run_id);
    runs.prepend(run_id);
    setRuns(runs);
}

void CrossRunView::setTensor(const QString& layer, const QString& kind) {
    layer_ = layer.toStdString();
    if (const auto name = tensor_kind_from_text(kind.toStdString())) {
        kind_ = *name;
    }
    updating_controls_ = true;
    layer_box_->setCurrentIndex(layer_box_->findText(layer));
    kind_box_->setCurrentIndex(kind_box_->findData(QString::fromStdString(kind_)));
    updating_controls_ = false;
    refresh();
}

void CrossRunView::setKind(const QString& kind) {
    setTensor(QString::fromStdString(layer_), kind);
}

void CrossRunView::setLayers(const std::vector<std::string>& layers) {
    QStringList names;
    for (const auto& layer : layers) {
        names << QString::fromStdString(layer);
    }
    QStringList shown;
    for (int i = 0; i < layer_box_->count(); ++i) {
        shown << layer_box_->itemText(i);
    }
    if (names != shown) {
        updating_controls_ = true;
        layer_box_->clear();
        layer_box_->addItems(names);
        layer_box_->setCurrentIndex(layer_box_->findText(QString::fromStdString(layer_)));
        updating_controls_ = false;
    }
    if (layer_.empty() && !layers.empty()) {
        setTensor(names.front(), QString::fromStdString(kind_));
    }
}

void CrossRunView::setMatch(CrossRunMatch match) {
    match_ = match;
    updating_controls_ = true;
    match_box_->setCurrentIndex(static_cast<int>(match));
    updating_controls_ = false;
    redraw();
}

void CrossRunView::setStepIndex(int index) {
    slider_->setValue(index);  // redraws through valueChanged
}

void CrossRunView::applyTheme() {
    theme_ = PlotTheme::fromPalette(palette());
    theme_.apply(*overlay_plot_);
    theme_.apply(*difference_plot_);
    theme_.apply(*difference_scale_);
    redraw();
}

void CrossRunView::refresh() {
    if (chosen_.isEmpty() || layer_.empty()) {
        data_ = CrossRunData{layer_, kind_, {}};
        redraw();
        return;
    }
    Q_EMIT readRequested(chosen_, QString::fromStdString(layer_), QString::fromStdString(kind_));
}

void CrossRunView::onDataRead(const CrossRunData& data) {
    QList<qint64> ids;
    for (const auto& run : data.runs) {
        ids.push_back(run.run_id);
    }
    if (data.layer != layer_ || data.kind != kind_ || ids != chosen_) {
        return;  // an answer to an earlier choice
    }
    const bool follow = slider_->value() >= slider_->maximum();
    const int kept = slider_->value();
    data_ = data;
    const int steps = data_.runs.empty() ? 0 : static_cast<int>(data_.runs.front().uniform.size());
    updating_controls_ = true;
    slider_->setRange(0, std::max(0, steps - 1));
    slider_->setValue(follow ? slider_->maximum() : std::min(kept, slider_->maximum()));
    updating_controls_ = false;
    redraw();
}

std::optional<int64_t> CrossRunView::referenceStep() const {
    if (data_.runs.empty()) {
        return std::nullopt;
    }
    const auto& rows = data_.runs.front().uniform;
    const int index = slider_->value();
    if (index < 0 || index >= static_cast<int>(rows.size())) {
        return std::nullopt;
    }
    return rows[static_cast<size_t>(index)].step;
}

QString CrossRunView::message() const {
    return message_->isHidden() ? QString() : message_->text();
}

QCPGraph* CrossRunView::overlayGraph(int index) const {
    if (index < 0 || index >= static_cast<int>(overlay_graphs_.size())) {
        return nullptr;
    }
    return overlay_graphs_[static_cast<size_t>(index)];
}

QString CrossRunView::runName(int64_t run_id) const {
    const RunRow* row = runs_ != nullptr ? runs_->run(run_id) : nullptr;
    return row != nullptr
               ? QStringLiteral("%1 #%2").arg(QString::fromStdString(row->record.name)).arg(run_id)
               : QStringLiteral("#%1").arg(run_id);
}

void CrossRunView::redraw() {
    QStringList notes;
    const QString tensor = QStringLiteral("%1 · %2").arg(
        QString::fromStdString(layer_), QString::fromStdString(tensor_kind_short(kind_)));
    if (chosen_.isEmpty()) {
        notes << tr("Check the runs to compare.");
    } else if (layer_.empty()) {
        notes << tr("No layer to compare: the reference run has no telemetry.");
    }
    for (const auto& run : data_.runs) {
        if (run.uniform.empty()) {
            notes << tr("Run %1 recorded no histograms of %2.").arg(runName(run.run_id), tensor);
        }
    }
    const auto step = referenceStep();
    step_label_->setText(step ? tr("step %1").arg(*step) : tr("no steps"));
    drawOverlay(notes);
    drawDifference(notes);
    message_->setText(notes.join(QLatin1Char('\n')));
    message_->setVisible(!notes.isEmpty());
}

void CrossRunView::drawOverlay(QStringList& notes) {
    QCustomPlot* plot = overlay_plot_;
    plot->clearPlottables();
    overlay_graphs_.assign(data_.runs.size(), nullptr);
    matched_.assign(data_.runs.size(), std::nullopt);
    overlay_ = AlignedHistograms{};
    const auto step = referenceStep();
    if (!step) {
        titleOf(plot)->setText(QString());
        plot->replot();
        return;
    }
    matched_ = matched_steps(data_.runs, *step, match_);
    const auto& reference = data_.runs.front();
    const auto reference_tokens = reference.tokens.find(*step);
    if (match_ == CrossRunMatch::kSameTokens && reference_tokens == reference.tokens.end()) {
        notes << tr("Run %1 logged no token count at step %2: nothing to match by tokens.")
                     .arg(runName(reference.run_id))
                     .arg(*step);
    }
    std::vector<const store::HistogramRecord*> rows;
    for (size_t i = 0; i < data_.runs.size(); ++i) {
        rows.push_back(matched_[i] ? data_.runs[i].at_step(*matched_[i]) : nullptr);
        if (!matched_[i] && !data_.runs[i].uniform.empty() &&
            (match_ == CrossRunMatch::kSameStep || reference_tokens != reference.tokens.end())) {
            notes << (match_ == CrossRunMatch::kSameStep
                          ? tr("Run %1 did not record step %2.")
                                .arg(runName(data_.runs[i].run_id))
                                .arg(*step)
                          : tr("Run %1 logged no token counts at its recorded steps.")
                                .arg(runName(data_.runs[i].run_id)));
        }
    }
    overlay_ = align_histograms(rows);
    const double width = overlay_.bins > 0 ? (overlay_.hi - overlay_.lo) / overlay_.bins : 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i] == nullptr) {
            continue;
        }
        QVector<double> keys, values;
        for (int k = 0; k < overlay_.bins; ++k) {
            keys.push_back(overlay_.lo + (k + 0.5) * width);
            values.push_back(overlay_.counts[i][static_cast<size_t>(k)]);
        }
        QCPGraph* graph = plot->addGraph();
        graph->setData(keys, values, true);
        graph->setLineStyle(QCPGraph::lsStepCenter);
        const int64_t id = data_.runs[i].run_id;
        graph->setPen(QPen(RunsModel::colourOf(id), 1.6));
        QString name = tr("%1 · step %2").arg(runName(id)).arg(*matched_[i]);
        const auto tokens = data_.runs[i].tokens.find(*matched_[i]);
        if (tokens != data_.runs[i].tokens.end()) {
            name += tr(" · %1 tokens").arg(tokens->second);
        }
        graph->setName(name);
        overlay_graphs_[i] = graph;
    }
    plot->rescaleAxes();
    plot->xAxis->setRange(overlay_.lo, overlay_.hi > overlay_.lo ? overlay_.hi : overlay_.lo + 1);
    plot->yAxis->setRangeLower(0);
    titleOf(plot)->setText(
        tr("%1 across runs at %2 %3")
            .arg(QString::fromStdString(layer_) + QStringLiteral(" · ") +
                     QString::fromStdString(tensor_kind_short(kind_)),
                 match_ == CrossRunMatch::kSameStep ? tr("step") : tr("the token count of step"))
            .arg(*step));
    plot->legend->setVisible(plot->graphCount() > 0);
    plot->replot();
}

void CrossRunView::drawDifference(QStringList& notes) {
    QCustomPlot* plot = difference_plot_;
    plot->clearPlottables();
    difference_map_ = nullptr;
    difference_ = HistogramDifference{};
    if (data_.runs.size() < 2) {
        if (!chosen_.isEmpty()) {
            notes << tr("Check a second run for the difference A − B.");
        }
        titleOf(plot)->setText(QString());
        difference_scale_->setVisible(false);
        plot->replot();
        return;
    }
    const RunHistograms& a = data_.runs[0];
    const RunHistograms& b = data_.runs[1];
    difference_ = histogram_difference(a, b);
    const auto columns = static_cast<int>(difference_.steps.size());
    const int rows = difference_.difference.bins;
    if (columns == 0 || rows == 0) {
        if (!a.uniform.empty() && !b.uniform.empty()) {
            notes << tr("Runs %1 and %2 recorded no step in common.")
                         .arg(runName(a.run_id), runName(b.run_id));
        }
        titleOf(plot)->setText(QString());
        difference_scale_->setVisible(false);
        plot->replot();
        return;
    }
    difference_scale_->setVisible(true);
    difference_map_ = new QCPColorMap(plot->xAxis, plot->yAxis);
    difference_map_->removeFromLegend();
    const double width = (difference_.difference.hi - difference_.difference.lo) / rows;
    const double first = difference_.difference.lo + width / 2;
    difference_map_->data()->setSize(columns, rows);
    // Column i is the i-th common step (one column each, however unevenly spaced); row k the
    // k-th common bin, placed at its centre.
    difference_map_->data()->setRange(
        QCPRange(0, std::max(columns - 1, 1)),
        QCPRange(first, rows > 1 ? first + (rows - 1) * width : first + width));
    double extent = 0;
    for (int i = 0; i < columns; ++i) {
        for (int k = 0; k < rows; ++k) {
            const double value =
                difference_.difference.counts[static_cast<size_t>(i)][static_cast<size_t>(k)];
            difference_map_->data()->setCell(i, k, value);
            extent = std::max(extent, std::abs(value));
        }
    }
    difference_map_->setColorScale(difference_scale_);
    difference_map_->setGradient(QCPColorGradient(QCPColorGradient::gpPolar));
    // Symmetric, so zero difference is the gradient's middle.
    difference_map_->setDataRange(QCPRange(-std::max(extent, 1.0), std::max(extent, 1.0)));
    difference_map_->setInterpolate(false);
    QStringList step_names;  // each column's step, for the CSV export
    for (int64_t step : difference_.steps) {
        step_names << QString::number(step);
    }
    difference_map_->setName(QStringLiteral("A - B"));
    difference_map_->setProperty("x_labels", step_names);
    auto step_ticks = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    const int every = std::max(1, (columns + kStepLabels - 1) / kStepLabels);
    for (int i = 0; i < columns; i += every) {
        step_ticks->addTick(i, QString::number(difference_.steps[static_cast<size_t>(i)]));
    }
    plot->xAxis->setTicker(step_ticks);
    plot->xAxis->setRange(-0.5, columns - 0.5);
    plot->yAxis->setRange(difference_.difference.lo, difference_.difference.hi);
    titleOf(plot)->setText(
        tr("A − B: %1 minus %2 over their common steps").arg(runName(a.run_id), runName(b.run_id)));
    plot->replot();
}

}  // namespace lowbit::ui
