#include "compare/results_model.h"

#include <QColor>
#include <QFont>

#include <cmath>

namespace lowbit::ui {

RunResultsModel::RunResultsModel(QObject* parent) : QAbstractTableModel(parent) {}

int RunResultsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int RunResultsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

std::string RunResultsModel::metricKey(int column) {
    return column >= kFinalTrain ? "train/loss" : "val/loss";
}

bool RunResultsModel::isBest(int column) {
    return column == kBestVal || column == kBestValDelta || column == kBestTrain ||
           column == kBestTrainDelta;
}

bool RunResultsModel::isDelta(int column) {
    return column == kFinalValDelta || column == kBestValDelta || column == kFinalTrainDelta ||
           column == kBestTrainDelta;
}

std::optional<double> RunResultsModel::value(int row, int column) const {
    if (row < 0 || row >= rowCount() || column <= kRun || column >= kColumnCount) {
        return std::nullopt;
    }
    const std::string key = metricKey(column);
    auto metric = [&](const store::RunResults& results) {
        return isBest(column) ? results.best_value(key) : results.final_value(key);
    };
    const auto own = metric(runs_[static_cast<size_t>(row)].results);
    if (!isDelta(column)) {
        return own;
    }
    const auto base = metric(runs_.front().results);
    if (row == 0 || !own || !base || !std::isfinite(*own) || !std::isfinite(*base)) {
        return std::nullopt;
    }
    return *own - *base;
}

QVariant RunResultsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const ResultsRun& run = runs_[static_cast<size_t>(index.row())];
    const int column = index.column();
    if (role == kRunIdRole) {
        return QVariant::fromValue<qint64>(run.run_id);
    }
    if (column == kRun) {
        if (role == Qt::DisplayRole) {
            return index.row() == 0 ? tr("%1 (baseline)").arg(run.name) : run.name;
        }
        if (role == Qt::FontRole && index.row() == 0) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    }
    const auto number = value(index.row(), column);
    switch (role) {
        case Qt::DisplayRole:
            if (!number) {
                return QString();
            }
            return isDelta(column) ? QStringLiteral("%1%2")
                                         .arg(*number > 0 ? QStringLiteral("+") : QString())
                                         .arg(*number, 0, 'f', 4)
                                   : QString::number(*number, 'f', 4);
        case kValueRole:
            return number ? QVariant(*number) : QVariant();
        case Qt::TextAlignmentRole:
            return QVariant(static_cast<int>(Qt::AlignRight | Qt::AlignVCenter));
        case Qt::ForegroundRole: {
            if (!isDelta(column) || !number || *number == 0) {
                return {};
            }
            const bool better =
                store::lower_is_better(metricKey(column)) ? *number < 0 : *number > 0;
            return better ? kBetter : kWorse;
        }
        default:
            return {};
    }
}

QVariant RunResultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
        section >= kColumnCount) {
        return {};
    }
    if (section == kRun) {
        return tr("Run");
    }
    const QString metric = QStringLiteral("%1 %2").arg(isBest(section) ? tr("best") : tr("final"),
                                                       QString::fromStdString(metricKey(section)));
    return isDelta(section) ? QStringLiteral("Δ ") + metric : metric;
}

void RunResultsModel::setRuns(std::vector<ResultsRun> runs, size_t baseline) {
    beginResetModel();
    if (baseline < runs.size() && baseline != 0) {
        ResultsRun first = std::move(runs[baseline]);
        runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(baseline));
        runs.insert(runs.begin(), std::move(first));
    }
    runs_ = std::move(runs);
    endResetModel();
}

}  // namespace lowbit::ui
