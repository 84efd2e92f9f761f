#include "qat/qat_results_view.h"

#include "lowbit/store/open_for_reading.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include <exception>

#include "qat/qat_results_model.h"

namespace lowbit::ui {

QatResultsView::QatResultsView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("qatResultsView"));
    source_box_ = new QComboBox;
    source_box_->setObjectName(QStringLiteral("qatResultsSource"));
    source_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    source_box_->setMinimumContentsLength(16);
    auto* refresh_button = new QPushButton(tr("Refresh"));
    message_ = new QLabel;
    message_->setObjectName(QStringLiteral("qatResultsMessage"));
    message_->setWordWrap(true);
    model_ = new QatResultsModel(this);
    proxy_ = new QSortFilterProxyModel(this);
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(QatResultsModel::kSortRole);
    table_ = new QTableView;
    table_->setObjectName(QStringLiteral("qatResultsTable"));
    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    // The model's order (FP, then the grids from most bits down, methods in order) until a
    // header is clicked.
    table_->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    proxy_->sort(-1);
    table_->setToolTip(tr("Double-click a row to open its run"));

    auto* pickers = new QHBoxLayout;
    pickers->addWidget(new QLabel(tr("Source model")));
    pickers->addWidget(source_box_, 1);
    pickers->addWidget(refresh_button);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(pickers);
    layout->addWidget(table_, 1);
    layout->addWidget(message_);

    live_timer_ = new QTimer(this);
    live_timer_->setInterval(kLiveRefreshMs);
    connect(live_timer_, &QTimer::timeout, this, &QatResultsView::refresh);
    connect(refresh_button, &QPushButton::clicked, this, &QatResultsView::refresh);
    connect(source_box_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (!updating_ && index >= 0) {
            setSource(source_box_->itemData(index).toLongLong());
        }
    });
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        Q_EMIT runActivated(index.data(QatResultsModel::kRunIdRole).toLongLong());
    });
}

void QatResultsView::setWorkspace(const QString& root) {
    root_ = root;
    source_ = 0;
    refresh();
}

void QatResultsView::setSource(qint64 source_run_id) {
    source_ = source_run_id;
    refresh();
}

void QatResultsView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh();
}

void QatResultsView::refresh() {
    if (root_.isEmpty()) {
        return;
    }
    try {
        const auto workspace = store::open_for_reading(root_.toStdString());
        const store::RunReader reader(workspace);
        const auto sources = qat_sources(reader);
        updating_ = true;
        source_box_->clear();
        for (const auto& [id, name] : sources) {
            source_box_->addItem(
                QStringLiteral("%1  #%2").arg(QString::fromStdString(name)).arg(id),
                QVariant::fromValue<qlonglong>(id));
        }
        if (source_ == 0 && !sources.empty()) {
            source_ = sources.front().first;  // the newest source until one is chosen
        }
        source_box_->setCurrentIndex(
            source_box_->findData(QVariant::fromValue<qlonglong>(source_)));
        updating_ = false;
        if (source_ == 0) {
            model_->setResults({});
            message_->setText(
                tr("No EfficientQAT, RTN or GPTQ run in this workspace yet: launch "
                   "one from the editor's EfficientQAT mode."));
            live_timer_->stop();
            return;
        }
        QatResults results = read_qat_results(reader, source_);
        bool live = false;
        for (const QatResultRow& row : results.rows) {
            live = live || row.status == "running" || row.status == "created";
        }
        message_->setText(
            results.rows.size() <= 1
                ? tr("No quantized run of %1 yet.").arg(QString::fromStdString(results.source_name))
                : QString());
        model_->setResults(std::move(results));
        if (live && isVisible()) {
            live_timer_->start();
        } else {
            live_timer_->stop();
        }
    } catch (const std::exception& error) {
        updating_ = false;
        model_->setResults({});
        message_->setText(tr("Cannot read the workspace %1: %2")
                              .arg(root_, QString::fromStdString(error.what())));
    }
}

}  // namespace lowbit::ui
