#include "qat/qat_results_model.h"

#include <QColor>
#include <QFont>

#include <cmath>

namespace lowbit::ui {

namespace {

QString grid_label(const QatResultRow& row) {
    if (row.method == "FP") {
        return QStringLiteral("fp32");
    }
    return QStringLiteral("w%1g%2").arg(row.bits).arg(row.group_size);
}

QString duration_text(double seconds) {
    if (seconds < 90) {
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', 0);
    }
    if (seconds < 5400) {
        return QStringLiteral("%1 min").arg(seconds / 60, 0, 'f', 1);
    }
    return QStringLiteral("%1 h").arg(seconds / 3600, 0, 'f', 1);
}

}  // namespace

QatResultsModel::QatResultsModel(QObject* parent) : QAbstractTableModel(parent) {}

int QatResultsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(results_.rows.size());
}

int QatResultsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid()
               ? 0
               : kFixedBefore + static_cast<int>(results_.corpora.size()) + kAfterCount;
}

int QatResultsModel::perplexityColumn(const std::string& corpus) const {
    for (size_t i = 0; i < results_.corpora.size(); ++i) {
        if (results_.corpora[i] == corpus) {
            return kFixedBefore + static_cast<int>(i);
        }
    }
    return -1;
}

QVariant QatResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    const int corpora = static_cast<int>(results_.corpora.size());
    if (section == kGrid) {
        return tr("Grid");
    }
    if (section == kMethod) {
        return tr("Method");
    }
    if (section < kFixedBefore + corpora) {
        const std::string& corpus = results_.corpora[static_cast<size_t>(section - kFixedBefore)];
        return corpus == "val" ? tr("Held-out ppl")
                               : tr("%1 ppl").arg(QString::fromStdString(corpus));
    }
    switch (section - kFixedBefore - corpora) {
        case kBits:
            return tr("Bits/weight");
        case kSize:
            return tr("Block linears");
        case kTime:
            return tr("Time");
        case kMemory:
            return tr("Peak memory");
        case kStatus:
            return tr("Status");
        default:
            return {};
    }
}

QVariant QatResultsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) {
        return {};
    }
    const QatResultRow& row = results_.rows[static_cast<size_t>(index.row())];
    if (role == kRunIdRole) {
        return QVariant::fromValue<qlonglong>(row.run_id);
    }
    if (role == Qt::FontRole && row.method == "FP") {
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    if (role == Qt::TextAlignmentRole && index.column() >= kFixedBefore) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    const bool display = role == Qt::DisplayRole;
    if (!display && role != kSortRole) {
        return {};
    }
    const int corpora = static_cast<int>(results_.corpora.size());
    const int column = index.column();
    if (column == kGrid) {
        return display ? QVariant(grid_label(row)) : QVariant(row.bits * 1000 + row.group_size);
    }
    if (column == kMethod) {
        return QString::fromStdString(row.method);
    }
    if (column < kFixedBefore + corpora) {
        const auto it =
            row.perplexity.find(results_.corpora[static_cast<size_t>(column - kFixedBefore)]);
        if (it == row.perplexity.end()) {
            return display ? QVariant(QStringLiteral("—")) : QVariant(qInf());
        }
        return display ? QVariant(QString::number(it->second, 'f', 2)) : QVariant(it->second);
    }
    switch (column - kFixedBefore - corpora) {
        case kBits:
            if (!row.bits_per_weight) {
                return display ? QVariant(QStringLiteral("—")) : QVariant(qInf());
            }
            return display ? QVariant(QString::number(*row.bits_per_weight, 'f', 3))
                           : QVariant(*row.bits_per_weight);
        case kSize:
            if (!row.packed_bytes) {
                return display ? QVariant(QStringLiteral("—")) : QVariant(qInf());
            }
            return display ? QVariant(QStringLiteral("%1 MB").arg(
                                 static_cast<double>(*row.packed_bytes) / 1e6, 0, 'f', 2))
                           : QVariant(static_cast<double>(*row.packed_bytes));
        case kTime:
            if (!row.seconds) {
                return display ? QVariant(QStringLiteral("—")) : QVariant(qInf());
            }
            return display ? QVariant(duration_text(*row.seconds)) : QVariant(*row.seconds);
        case kMemory:
            if (!row.peak_rss_bytes) {
                return display ? QVariant(QStringLiteral("—")) : QVariant(qInf());
            }
            return display ? QVariant(QStringLiteral("%1 GiB").arg(
                                 static_cast<double>(*row.peak_rss_bytes) / (1 << 30), 0, 'f', 2))
                           : QVariant(static_cast<double>(*row.peak_rss_bytes));
        case kStatus:
            return QString::fromStdString(row.status);
        default:
            return {};
    }
}

void QatResultsModel::setResults(QatResults results) {
    beginResetModel();
    results_ = std::move(results);
    endResetModel();
}

}  // namespace lowbit::ui
