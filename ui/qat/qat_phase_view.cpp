#include "qat/qat_phase_view.h"

#include "lowbit/store/open_for_reading.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "charts/colour_range.h"
#include "charts/qcustomplot_include.h"
#include "export/plot_export_menu.h"
#include "models/runs_model.h"
#include "widgets/run_picker.h"

namespace lowbit::ui {

namespace {

QString phase_title(const std::string& name) {
    if (name == "e2e_qp") {
        return QObject::tr("E2E-QP");
    }
    if (name == "eval") {
        return QObject::tr("evaluation");
    }
    return QObject::tr("Block-AP");
}

QCPAxisRect* new_rect(QCustomPlot* plot) {
    auto* rect = new QCPAxisRect(plot);
    rect->setupFullAxesBox(false);
    rect->axis(QCPAxis::atTop)->setVisible(false);
    rect->axis(QCPAxis::atRight)->setVisible(false);
    return rect;
}

}  // namespace

QatPhaseView::QatPhaseView(RunsModel* runs, QWidget* parent) : QWidget(parent), runs_(runs) {
    setObjectName(QStringLiteral("qatPhaseView"));
    run_box_ = new QComboBox;
    run_box_->setObjectName(QStringLiteral("qatPhaseRun"));
    run_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    run_box_->setMinimumContentsLength(16);
    loss_box_ = new QComboBox;
    loss_box_->setObjectName(QStringLiteral("qatPhaseLoss"));
    loss_box_->addItem(tr("Validation MSE"), true);
    loss_box_->addItem(tr("Training MSE"), false);
    summary_ = new QLabel;
    summary_->setObjectName(QStringLiteral("qatPhaseSummary"));
    summary_->setWordWrap(true);

    plot_ = new QCustomPlot;
    plot_->setObjectName(QStringLiteral("qatPhasePlot"));
    install_plot_export_menu(plot_, QStringLiteral("qat-phases"));
    plot_->setMinimumSize(360, 420);
    plot_->plotLayout()->clear();
    // Row 0: the heatmap and its colour scale; row 1: the timeline; row 2: the blocks' costs.
    auto* heat_rect = new_rect(plot_);
    auto* time_rect = new_rect(plot_);
    auto* cost_rect = new_rect(plot_);
    plot_->plotLayout()->addElement(0, 0, heat_rect);
    plot_->plotLayout()->addElement(1, 0, time_rect);
    plot_->plotLayout()->addElement(2, 0, cost_rect);
    colour_scale_ = new QCPColorScale(plot_);
    colour_scale_->setType(QCPAxis::atRight);
    colour_scale_->setBarWidth(10);
    colour_scale_->axis()->setLabel(tr("log10 MSE"));
    plot_->plotLayout()->addElement(0, 1, colour_scale_);
    auto* margins = new QCPMarginGroup(plot_);
    for (QCPAxisRect* rect : {heat_rect, time_rect, cost_rect}) {
        rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    }
    colour_scale_->setMarginGroup(QCP::msBottom | QCP::msTop, new QCPMarginGroup(plot_));
    heat_rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);

    heat_rect->axis(QCPAxis::atBottom)->setLabel(tr("block"));
    heat_rect->axis(QCPAxis::atLeft)->setLabel(tr("epoch"));
    heatmap_ =
        new QCPColorMap(heat_rect->axis(QCPAxis::atBottom), heat_rect->axis(QCPAxis::atLeft));
    heatmap_->setColorScale(colour_scale_);
    heatmap_->setInterpolate(false);

    time_rect->axis(QCPAxis::atBottom)->setLabel(tr("run step (Block-AP, then E2E-QP)"));
    time_rect->axis(QCPAxis::atLeft)->setLabel(tr("val MSE"));
    time_rect->axis(QCPAxis::atLeft)->setScaleType(QCPAxis::stLogarithmic);
    time_rect->axis(QCPAxis::atLeft)
        ->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    time_rect->axis(QCPAxis::atRight)->setVisible(true);
    time_rect->axis(QCPAxis::atRight)->setTickLabels(true);
    time_rect->axis(QCPAxis::atRight)->setLabel(tr("E2E-QP loss"));
    block_loss_ =
        plot_->addGraph(time_rect->axis(QCPAxis::atBottom), time_rect->axis(QCPAxis::atLeft));
    block_loss_->setName(tr("Block-AP val MSE"));
    block_loss_->setLineStyle(QCPGraph::lsNone);
    block_loss_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
    e2e_loss_ =
        plot_->addGraph(time_rect->axis(QCPAxis::atBottom), time_rect->axis(QCPAxis::atRight));
    e2e_loss_->setName(tr("E2E-QP loss"));

    cost_rect->axis(QCPAxis::atBottom)->setLabel(tr("block"));
    cost_rect->axis(QCPAxis::atLeft)->setLabel(tr("seconds"));
    cost_rect->axis(QCPAxis::atRight)->setVisible(true);
    cost_rect->axis(QCPAxis::atRight)->setTickLabels(true);
    cost_rect->axis(QCPAxis::atRight)->setLabel(tr("peak MiB"));
    block_seconds_ =
        new QCPBars(cost_rect->axis(QCPAxis::atBottom), cost_rect->axis(QCPAxis::atLeft));
    block_seconds_->setName(tr("seconds per block"));
    block_seconds_->setWidth(0.7);
    block_memory_ =
        plot_->addGraph(cost_rect->axis(QCPAxis::atBottom), cost_rect->axis(QCPAxis::atRight));
    block_memory_->setName(tr("peak memory"));
    block_memory_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));

    auto* pickers = new QHBoxLayout;
    pickers->addWidget(new QLabel(tr("Run")));
    pickers->addWidget(run_box_, 1);
    pickers->addWidget(new QLabel(tr("Heatmap")));
    pickers->addWidget(loss_box_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(pickers);
    layout->addWidget(summary_);
    layout->addWidget(plot_, 1);

    live_timer_ = new QTimer(this);
    live_timer_->setInterval(kLiveRefreshMs);
    connect(live_timer_, &QTimer::timeout, this, &QatPhaseView::refresh);
    connect(loss_box_, &QComboBox::currentIndexChanged, this, &QatPhaseView::redraw);
    connect(run_box_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0) {
            setRun(run_box_->itemData(index).toLongLong());
        }
    });
    if (runs_ != nullptr) {
        connect(runs_, &RunsModel::runsChanged, this, &QatPhaseView::refreshRuns);
    }
    applyTheme();
}

void QatPhaseView::setWorkspace(const QString& root) {
    root_ = root;
    run_id_ = 0;
    refreshRuns();
    refresh();
}

void QatPhaseView::refreshRuns() {
    if (runs_ == nullptr) {
        return;
    }
    std::vector<std::pair<int64_t, QString>> items;
    for (const RunRow& row : runs_->runs()) {
        if (row.record.kind == "qat") {
            items.emplace_back(row.record.id,
                               QStringLiteral("%1  #%2")
                                   .arg(QString::fromStdString(row.record.name))
                                   .arg(row.record.id));
        }
    }
    sync_run_items(*run_box_, items, run_id_);
    if (run_id_ == 0 && !items.empty()) {
        setRun(items.front().first);  // the newest qat run until one is chosen
    }
}

void QatPhaseView::setRun(qint64 run_id) {
    run_id_ = run_id;
    {
        const QSignalBlocker block(run_box_);
        run_box_->setCurrentIndex(run_box_->findData(QVariant::fromValue<qlonglong>(run_id)));
    }
    refresh();
}

void QatPhaseView::refresh() {
    if (root_.isEmpty() || run_id_ == 0) {
        return;
    }
    try {
        const auto workspace = store::open_for_reading(root_.toStdString());
        const store::RunReader reader(workspace);
        setData(read_qat_phase(reader, run_id_));
    } catch (const std::exception& error) {
        live_timer_->stop();
        summary_->setText(tr("Cannot read the workspace %1: %2")
                              .arg(root_, QString::fromStdString(error.what())));
    }
}

void QatPhaseView::setData(QatPhaseData data) {
    data_ = std::move(data);
    if (data_.live()) {
        live_timer_->start();
    } else {
        live_timer_->stop();
    }
    redraw();
}

void QatPhaseView::applyTheme() {
    theme_ = PlotTheme::fromPalette(palette());
    theme_.apply(*plot_);
    theme_.apply(*colour_scale_);
    redraw();
}

void QatPhaseView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        applyTheme();
    }
}

void QatPhaseView::redraw() {
    const bool validation = loss_box_->currentData().toBool();
    const int64_t blocks = std::max<int64_t>(data_.blocks, 1);
    const int epochs = std::max(data_.epochs, 1);

    // Heatmap: cell (block, epoch) = log10 of the chosen MSE; cells not recorded yet are empty.
    heatmap_->data()->setSize(static_cast<int>(blocks), epochs);
    // One cell per integer: a single block or epoch still spans a unit range.
    heatmap_->data()->setRange(QCPRange(0, std::max<double>(static_cast<double>(blocks) - 1, 1)),
                               QCPRange(1, std::max(epochs, 2)));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t b = 0; b < blocks; ++b) {
        for (int e = 1; e <= epochs; ++e) {
            const std::optional<double> loss = data_.loss_at(b, e, validation);
            const double value = loss && *loss > 0 ? std::log10(*loss) : qQNaN();
            heatmap_->data()->setCell(static_cast<int>(b), e - 1, value);
            if (std::isfinite(value)) {
                lo = std::min(lo, value);
                hi = std::max(hi, value);
            }
        }
    }
    QCPColorGradient gradient = theme_.heatmapGradient(false);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    heatmap_->setGradient(gradient);
    heatmap_->setDataRange(colour_range(lo, hi));
    heatmap_->setName(validation ? tr("validation MSE (log10)") : tr("training MSE (log10)"));
    heatmap_->keyAxis()->setRange(-0.5, static_cast<double>(blocks) - 0.5);
    heatmap_->valueAxis()->setRange(0.5, epochs + 0.5);
    auto block_ticks = QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed);
    block_ticks->setTickStep(blocks > 16 ? 4 : 1);
    heatmap_->keyAxis()->setTicker(block_ticks);
    auto epoch_ticks = QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed);
    epoch_ticks->setTickStep(1);
    heatmap_->valueAxis()->setTicker(epoch_ticks);

    // Timeline: the Block-AP validation MSE at each epoch's step, then E2E-QP's loss.
    QVector<double> steps, losses;
    for (const store::BlockApRecord& row : data_.epoch_rows) {
        if (std::isfinite(row.val_loss) && row.val_loss > 0) {
            steps << static_cast<double>(row.step);
            losses << row.val_loss;
        }
    }
    std::vector<std::pair<double, double>> sorted;
    for (int i = 0; i < steps.size(); ++i) {
        sorted.emplace_back(steps[i], losses[i]);
    }
    std::sort(sorted.begin(), sorted.end());
    steps.clear();
    losses.clear();
    for (const auto& [x, y] : sorted) {
        steps << x;
        losses << y;
    }
    block_loss_->setData(steps, losses, true);
    QVector<double> e2e_steps, e2e_losses;
    for (const auto& [step, loss] : data_.e2e_loss) {
        e2e_steps << static_cast<double>(step);
        e2e_losses << loss;
    }
    e2e_loss_->setData(e2e_steps, e2e_losses, true);
    QCPAxis* time_axis = block_loss_->keyAxis();
    QCPAxisRect* time_rect = time_axis->axisRect();
    for (int i = plot_->itemCount() - 1; i >= 0; --i) {
        QCPAbstractItem* item = plot_->item(i);
        if (item->clipAxisRect() == time_rect) {
            plot_->removeItem(item);
        }
    }
    markers_.clear();
    for (size_t i = 1; i < data_.phases.size(); ++i) {
        const QatPhaseMarker& phase = data_.phases[i];
        markers_.push_back(phase);
        auto* line = new QCPItemStraightLine(plot_);
        line->setClipAxisRect(time_rect);
        line->point1->setAxes(time_axis, block_loss_->valueAxis());
        line->point2->setAxes(time_axis, block_loss_->valueAxis());
        line->point1->setCoords(static_cast<double>(phase.step), 1e-12);
        line->point2->setCoords(static_cast<double>(phase.step), 1e12);
        line->setPen(QPen(theme_.foreground, 1, Qt::DashLine));
        auto* label = new QCPItemText(plot_);
        label->setClipAxisRect(time_rect);
        label->setClipToAxisRect(true);
        label->position->setAxisRect(time_rect);
        label->position->setTypeX(QCPItemPosition::ptPlotCoords);
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        label->position->setAxes(time_axis, block_loss_->valueAxis());
        // One text row per marker: E2E-QP and the evaluation begin a few steps apart at the end
        // of a long Block-AP timeline, and their labels would otherwise run into each other.
        label->position->setCoords(static_cast<double>(phase.step),
                                   0.02 + 0.08 * static_cast<double>(i - 1));
        // A marker near the end of the timeline (the evaluation starts at the run's last step)
        // has its label left of the line, so the plot's edge does not cut it.
        const bool near_end =
            static_cast<double>(phase.step) > 0.8 * static_cast<double>(data_.phases.back().step);
        label->setPositionAlignment((near_end ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
        label->setText(near_end ? phase_title(phase.name) + QStringLiteral(" ")
                                : QStringLiteral(" ") + phase_title(phase.name));
        label->setColor(theme_.foreground);
    }
    const QColor block_colour = RunsModel::colourOf(1);
    const QColor e2e_colour = RunsModel::colourOf(2);
    block_loss_->setPen(QPen(block_colour));
    block_loss_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, block_colour, 4));
    e2e_loss_->setPen(QPen(e2e_colour, 1.5));
    bool found = false;
    const QCPRange loss_range = block_loss_->getValueRange(found);
    block_loss_->valueAxis()->setRange(
        found ? QCPRange(loss_range.lower / 1.5, loss_range.upper * 1.5) : QCPRange(1e-4, 1));
    bool e2e_found = false;
    const QCPRange e2e_range = e2e_loss_->getValueRange(e2e_found);
    e2e_loss_->valueAxis()->setRange(
        e2e_found ? QCPRange(e2e_range.lower - 0.05, e2e_range.upper + 0.05) : QCPRange(0, 1));
    const double last_step =
        std::max({steps.isEmpty() ? 0.0 : steps.back(),
                  e2e_steps.isEmpty() ? 0.0 : e2e_steps.back(),
                  data_.finished.empty() ? 0.0 : static_cast<double>(data_.finished.back().step),
                  1.0});
    time_axis->setRange(0, last_step * 1.02);

    // Per block: seconds (bars) and peak memory (MiB).
    QVector<double> block_index, seconds, memory_index, memory;
    for (const QatBlockTime& block : data_.finished) {
        block_index << static_cast<double>(block.block);
        seconds << block.seconds;
        if (block.peak_memory_bytes) {
            memory_index << static_cast<double>(block.block);
            memory << static_cast<double>(*block.peak_memory_bytes) / (1 << 20);
        }
    }
    block_seconds_->setData(block_index, seconds, true);
    block_seconds_->setPen(QPen(block_colour.darker(120)));
    block_seconds_->setBrush(
        QColor(block_colour.red(), block_colour.green(), block_colour.blue(), 150));
    block_memory_->setData(memory_index, memory, true);
    block_memory_->setPen(QPen(e2e_colour, 1.5));
    block_memory_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, e2e_colour, 5));
    block_seconds_->keyAxis()->setRange(-0.5, static_cast<double>(blocks) - 0.5);
    block_seconds_->keyAxis()->setTicker(block_ticks);
    const double max_seconds =
        seconds.isEmpty() ? 1.0 : *std::max_element(seconds.begin(), seconds.end());
    block_seconds_->valueAxis()->setRange(0, std::max(max_seconds, 1e-3) * 1.15);
    const double max_memory =
        memory.isEmpty() ? 1.0 : *std::max_element(memory.begin(), memory.end());
    block_memory_->valueAxis()->setRange(0, std::max(max_memory, 1.0) * 1.15);

    // The summary line: method, grid, progress (and the ranks of a data-parallel run).
    QString text;
    if (data_.run_id != 0) {
        text = tr("%1, w%2g%3: %4 of %5 blocks finished")
                   .arg(QString::fromStdString(data_.method.empty() ? "qat" : data_.method))
                   .arg(data_.bits)
                   .arg(data_.group_size)
                   .arg(data_.finished.size())
                   .arg(data_.blocks);
        if (data_.ranks > 1) {
            text += tr(" on %1 ranks").arg(data_.ranks);
        }
        if (!data_.e2e_loss.empty()) {
            text += tr("; E2E-QP loss %1 at step %2")
                        .arg(data_.e2e_loss.back().second, 0, 'f', 4)
                        .arg(data_.e2e_loss.back().first);
        }
        // The phase in progress while the run is written; afterwards how the run ended (the last
        // phase event of a finished run is only the one it ended in).
        if (data_.live()) {
            if (!data_.phases.empty()) {
                text += tr("; phase: %1").arg(phase_title(data_.phases.back().name));
            }
            text += tr(" (live)");
        } else {
            text += tr("; %1").arg(QString::fromUtf8(store::to_string(data_.status)));
        }
    } else {
        text = tr("No EfficientQAT, RTN or GPTQ run chosen.");
    }
    summary_->setText(text);
    plot_->replot();
}

}  // namespace lowbit::ui
