#include "report/first_rows_proxy.h"

#include <algorithm>

namespace lowbit::ui {

FirstRowsProxy::FirstRowsProxy(int limit, QObject* parent)
    : QIdentityProxyModel(parent), limit_(std::max(0, limit)) {}

int FirstRowsProxy::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : std::min(limit_, QIdentityProxyModel::rowCount(parent));
}

QModelIndex FirstRowsProxy::index(int row, int column, const QModelIndex& parent) const {
    return row < rowCount(parent) ? QIdentityProxyModel::index(row, column, parent) : QModelIndex();
}

}  // namespace lowbit::ui
