#include "widgets/run_browser.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QMenu>
#include <QTableView>
#include <QVBoxLayout>

#include <map>

#include "models/runs_filter_proxy.h"
#include "models/runs_model.h"

namespace lowbit::ui {

RunBrowser::RunBrowser(RunsModel* model, QWidget* parent)
    : QWidget(parent), model_(model), proxy_(new RunsFilterProxy(this)) {
    proxy_->setSourceModel(model_);
    filter_ = new QLineEdit;
    filter_->setObjectName(QStringLiteral("runFilter"));
    filter_->setPlaceholderText(tr("Filter runs (name, group, tags, notes, status, bits)"));
    filter_->setClearButtonEnabled(true);
    table_ = new QTableView;
    table_->setObjectName(QStringLiteral("runsTable"));
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(RunsModel::kCreated, Qt::DescendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setSectionsMovable(true);
    table_->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
    table_->setColumnWidth(RunsModel::kColour, 48);
    table_->setColumnWidth(RunsModel::kVisible, 52);
    table_->setColumnWidth(RunsModel::kStatus, 80);
    table_->setColumnWidth(RunsModel::kName, 130);
    table_->setColumnWidth(RunsModel::kCreated, 120);
    table_->setColumnWidth(RunsModel::kBits, 150);
    table_->setContextMenuPolicy(Qt::CustomContextMenu);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(filter_);
    layout->addWidget(table_);
    connect(filter_, &QLineEdit::textChanged, proxy_, &RunsFilterProxy::setFilterText);
    connect(table_->horizontalHeader(),
            &QHeaderView::customContextMenuRequested,
            this,
            &RunBrowser::showColumnMenu);
    connect(table_, &QTableView::customContextMenuRequested, this, &RunBrowser::showRunMenu);
}

QByteArray RunBrowser::saveHeaderState() const {
    return table_->horizontalHeader()->saveState();
}

void RunBrowser::restoreHeaderState(const QByteArray& state) {
    table_->horizontalHeader()->restoreState(state);
}

QList<qint64> RunBrowser::selectedRuns() const {
    QList<qint64> ids;
    for (const QModelIndex& index : table_->selectionModel()->selectedRows()) {
        ids.push_back(index.data(RunsModel::kRunIdRole).toLongLong());
    }
    return ids;
}

void RunBrowser::selectRun(qint64 run_id) {
    const int row = model_->rowOf(run_id);
    if (row < 0) {
        return;
    }
    const QModelIndex source = model_->index(row, RunsModel::kName);
    QModelIndex shown = proxy_->mapFromSource(source);
    if (!shown.isValid()) {
        filter_->clear();
        shown = proxy_->mapFromSource(source);
    }
    if (shown.isValid()) {
        table_->selectRow(shown.row());
        table_->scrollTo(shown);
    }
}

void RunBrowser::showColumnMenu(const QPoint& at) {
    QMenu menu;
    QHeaderView* header = table_->horizontalHeader();
    for (int column = 0; column < model_->columnCount(); ++column) {
        QAction* action =
            menu.addAction(model_->headerData(column, Qt::Horizontal, Qt::DisplayRole).toString());
        action->setCheckable(true);
        action->setChecked(!header->isSectionHidden(column));
        connect(action, &QAction::toggled, this, [header, column](bool shown) {
            header->setSectionHidden(column, !shown);
        });
    }
    menu.exec(header->mapToGlobal(at));
}

void RunBrowser::showRunMenu(const QPoint& at) {
    const QModelIndex index = table_->indexAt(at);
    if (!index.isValid()) {
        return;
    }
    const qint64 id = index.data(RunsModel::kRunIdRole).toLongLong();
    const RunRow* row = model_->run(id);
    if (!row) {
        return;
    }
    QMenu menu;
    QAction* resume = menu.addAction(tr("Resume"));
    resume->setEnabled(row->observed == store::RunStatus::kStopped ||
                       row->observed == store::RunStatus::kKilled);
    QAction* stop = menu.addAction(tr("Stop"));
    stop->setEnabled(row->observed == store::RunStatus::kRunning);
    // Latest first: forking from the end of a run is the usual case.
    QMenu* fork = menu.addMenu(tr("Fork from Checkpoint"));
    fork->setEnabled(row->record.kind == "train" && !row->checkpoint_steps.empty());
    std::map<QAction*, qint64> fork_steps;
    for (auto step = row->checkpoint_steps.rbegin(); step != row->checkpoint_steps.rend(); ++step) {
        fork_steps[fork->addAction(tr("Step %1").arg(*step))] = *step;
    }
    QAction* chosen = menu.exec(table_->viewport()->mapToGlobal(at));
    if (const auto found = fork_steps.find(chosen); found != fork_steps.end()) {
        Q_EMIT forkRequested(id, found->second);
    } else if (chosen == resume) {
        Q_EMIT resumeRequested(id);
    } else if (chosen == stop) {
        Q_EMIT stopRequested(id);
    }
}

}  // namespace lowbit::ui
