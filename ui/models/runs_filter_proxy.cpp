#include "models/runs_filter_proxy.h"

#include "models/runs_model.h"

namespace lowbit::ui {

RunsFilterProxy::RunsFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
    setSortRole(RunsModel::kSortRole);
    setDynamicSortFilter(true);
}

void RunsFilterProxy::setFilterText(const QString& text) {
    words_ = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    invalidateRowsFilter();
}

bool RunsFilterProxy::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
    if (words_.isEmpty()) {
        return true;
    }
    QString haystack;
    for (int column : {RunsModel::kStatus,
                       RunsModel::kName,
                       RunsModel::kGroup,
                       RunsModel::kTags,
                       RunsModel::kNotes,
                       RunsModel::kBits}) {
        haystack +=
            sourceModel()->index(source_row, column, source_parent).data(Qt::EditRole).toString();
        haystack += QLatin1Char('\n');
    }
    for (const QString& word : words_) {
        if (!haystack.contains(word, Qt::CaseInsensitive)) {
            return false;
        }
    }
    return true;
}

}  // namespace lowbit::ui
