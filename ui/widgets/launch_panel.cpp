#include "widgets/launch_panel.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "controllers/run_launcher.h"

namespace lowbit::ui {

namespace {

enum QueueColumn { kId, kRun, kRecipe, kState, kProgress, kEta, kThroughput, kColumns };

// The Ranks field is a property of the machine, not of a workspace: it outlives the panel, which
// each opened workspace rebuilds, and the session.
constexpr auto kRanksKey = "launch/ranks";

QString etaText(double seconds) {
    if (!(seconds > 0)) {
        return {};
    }
    const auto s = static_cast<qint64>(std::llround(seconds));
    return s < 3600 ? QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'))
                    : QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

}  // namespace

LaunchPanel::LaunchPanel(RunLauncher* launcher, QWidget* parent)
    : QWidget(parent), launcher_(launcher) {
    recipe_ = new QLineEdit;
    recipe_->setObjectName(QStringLiteral("recipePath"));
    recipe_->setPlaceholderText(tr("Recipe YAML"));
    auto* browse = new QPushButton(tr("Browse…"));
    overrides_ = new QLineEdit;
    overrides_->setPlaceholderText(tr("Overrides, e.g. train.steps=300 seed=2"));
    ranks_ = new QSpinBox;
    ranks_->setObjectName(QStringLiteral("ranksPerLaunch"));
    ranks_->setRange(1, 64);
    ranks_->setValue(QSettings().value(QLatin1String(kRanksKey), 1).toInt());
    connect(ranks_, &QSpinBox::valueChanged, this, [](int ranks) {
        QSettings().setValue(QLatin1String(kRanksKey), ranks);
    });
    ranks_->setToolTip(
        tr("Data-parallel processes for each launch on this machine, from here or from the "
           "experiment editor; each takes a part of every batch, so the recipe's batch must "
           "split among them (lowbit train|qat --nproc-per-node)"));
    concurrency_ = new QSpinBox;
    concurrency_->setRange(1, 64);
    concurrency_->setValue(launcher_->concurrency());
    auto* launch = new QPushButton(tr("Launch"));
    launch->setObjectName(QStringLiteral("launchButton"));
    auto* stop = new QPushButton(tr("Stop"));
    auto* resume = new QPushButton(tr("Resume"));

    auto* recipe_row = new QHBoxLayout;
    recipe_row->addWidget(recipe_, 1);
    recipe_row->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Recipe"), recipe_row);
    form->addRow(tr("Overrides"), overrides_);
    form->addRow(tr("Ranks"), ranks_);
    form->addRow(tr("Run at once"), concurrency_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(launch);
    buttons->addWidget(stop);
    buttons->addWidget(resume);
    buttons->addStretch(1);

    queue_ = new QTableWidget(0, kColumns);
    queue_->setObjectName(QStringLiteral("launchQueue"));
    queue_->setHorizontalHeaderLabels(
        {tr("#"), tr("Run"), tr("Recipe"), tr("State"), tr("Progress"), tr("ETA"), tr("tokens/s")});
    queue_->verticalHeader()->hide();
    queue_->setSelectionBehavior(QAbstractItemView::SelectRows);
    queue_->setSelectionMode(QAbstractItemView::SingleSelection);
    queue_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    queue_->horizontalHeader()->setStretchLastSection(true);
    console_ = new QPlainTextEdit;
    console_->setObjectName(QStringLiteral("console"));
    console_->setReadOnly(true);
    console_->setMaximumBlockCount(5000);
    console_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(queue_);
    splitter->addWidget(console_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(splitter, 1);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(
            this, tr("Recipe"), {}, tr("Recipes (*.yaml *.yml);;All files (*)"));
        if (!file.isEmpty()) {
            recipe_->setText(file);
        }
    });
    connect(launch, &QPushButton::clicked, this, [this] {
        if (!recipe_->text().isEmpty()) {
            selectLaunch(launcher_->enqueueTrain(
                recipe_->text(),
                overrides_->text().split(QLatin1Char(' '), Qt::SkipEmptyParts),
                rankOptions()));
        }
    });
    connect(stop, &QPushButton::clicked, this, [this] { launcher_->stop(selectedLaunch()); });
    connect(resume, &QPushButton::clicked, this, [this] {
        if (const Launch* l = launcher_->launch(selectedLaunch()); l && l->run_id > 0) {
            selectLaunch(launcher_->enqueueResume(l->run_id));
        }
    });
    connect(concurrency_,
            qOverload<int>(&QSpinBox::valueChanged),
            launcher_,
            &RunLauncher::setConcurrency);
    connect(launcher_, &RunLauncher::launchChanged, this, &LaunchPanel::refresh);
    connect(queue_, &QTableWidget::itemSelectionChanged, this, [this] {
        const Launch* l = launcher_->launch(selectedLaunch());
        console_->setPlainText(l ? l->console : QString());
        console_->verticalScrollBar()->setValue(console_->verticalScrollBar()->maximum());
    });
    for (const Launch& l : launcher_->launches()) {
        refresh(l.id);
    }
}

QStringList LaunchPanel::rankOptions() const {
    if (ranks_->value() <= 1) {
        return {};
    }
    return {QStringLiteral("--nproc-per-node"), QString::number(ranks_->value())};
}

int LaunchPanel::selectedLaunch() const {
    const auto rows = queue_->selectionModel()->selectedRows();
    return rows.isEmpty() ? 0 : queue_->item(rows.first().row(), kId)->text().toInt();
}

void LaunchPanel::selectLaunch(int launch_id) {
    for (int row = 0; row < queue_->rowCount(); ++row) {
        if (queue_->item(row, kId)->text().toInt() == launch_id) {
            queue_->selectRow(row);
        }
    }
}

void LaunchPanel::refresh(int launch_id) {
    const Launch* l = launcher_->launch(launch_id);
    if (!l) {
        return;
    }
    int row = -1;
    for (int r = 0; r < queue_->rowCount(); ++r) {
        if (queue_->item(r, kId)->text().toInt() == launch_id) {
            row = r;
        }
    }
    if (row < 0) {
        row = queue_->rowCount();
        queue_->insertRow(row);
        for (int c = 0; c < kColumns; ++c) {
            queue_->setItem(row, c, new QTableWidgetItem);
        }
        auto* bar = new QProgressBar;
        bar->setTextVisible(true);
        queue_->setCellWidget(row, kProgress, bar);
        queue_->item(row, kId)->setText(QString::number(launch_id));
    }
    queue_->item(row, kRun)->setText(l->run_id > 0 ? QString::number(l->run_id) : QString());
    queue_->item(row, kRecipe)->setText(l->label);
    QString state = l->state == Launch::State::kQueued    ? tr("queued")
                    : l->state == Launch::State::kRunning ? tr("running")
                                                          : l->outcome;
    if (l->state == Launch::State::kRunning && l->stop_requested.isValid()) {
        state = tr("stopping");
    }
    queue_->item(row, kState)->setText(state);
    auto* bar = static_cast<QProgressBar*>(queue_->cellWidget(row, kProgress));
    bar->setRange(0, static_cast<int>(std::max<qint64>(l->steps, 1)));
    bar->setValue(static_cast<int>(std::min(l->step, std::max<qint64>(l->steps, 1))));
    queue_->item(row, kEta)->setText(l->state == Launch::State::kRunning ? etaText(l->eta_s)
                                                                         : QString());
    queue_->item(row, kThroughput)
        ->setText(l->tokens_per_s > 0 && l->state == Launch::State::kRunning
                      ? QString::number(l->tokens_per_s, 'f', 0)
                      : QString());
    if (launch_id == selectedLaunch() && console_->toPlainText().size() != l->console.size()) {
        console_->setPlainText(l->console);
        console_->verticalScrollBar()->setValue(console_->verticalScrollBar()->maximum());
    }
}

}  // namespace lowbit::ui
