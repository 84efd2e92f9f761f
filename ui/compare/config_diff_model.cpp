#include "compare/config_diff_model.h"

#include <QFont>

namespace lowbit::ui {

ConfigDiffModel::ConfigDiffModel(QObject* parent) : QAbstractTableModel(parent) {}

int ConfigDiffModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(shown_.size());
}

int ConfigDiffModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

QString ConfigDiffModel::key(int row) const {
    if (row < 0 || row >= rowCount()) {
        return {};
    }
    return QString::fromStdString(all_rows_[shown_[static_cast<size_t>(row)]].field->path);
}

QVariant ConfigDiffModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const ConfigDiffRow& row = all_rows_[shown_[static_cast<size_t>(index.row())]];
    const auto column = static_cast<size_t>(index.column());
    const RecipeRun& run = runs_[column];
    switch (role) {
        case Qt::DisplayRole:
            if (!row.values[column]) {
                return tr("recipe unreadable");
            }
            return QString::fromStdString(*row.values[column]);
        case Qt::ToolTipRole:
            if (!run.recipe.recipe) {
                return QString::fromStdString(run.recipe.error);
            }
            return QString::fromStdString(row.field->doc);
        case Qt::FontRole:
            if (column == 0) {
                QFont bold;
                bold.setBold(true);
                return bold;
            }
            return {};
        case kDiffersRole:
            return row.differs;
        default:
            return {};
    }
}

QVariant ConfigDiffModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal) {
        if (section < 0 || section >= columnCount()) {
            return {};
        }
        const RecipeRun& run = runs_[static_cast<size_t>(section)];
        if (role == Qt::DisplayRole) {
            return section == 0 ? tr("%1 (baseline)").arg(run.name) : run.name;
        }
        if (role == Qt::ToolTipRole && !run.recipe.recipe) {
            return QString::fromStdString(run.recipe.error);
        }
        if (role == Qt::FontRole && section == 0) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    }
    if (section < 0 || section >= rowCount()) {
        return {};
    }
    const ConfigDiffRow& row = all_rows_[shown_[static_cast<size_t>(section)]];
    if (role == Qt::DisplayRole) {
        return QString::fromStdString(row.field->path);
    }
    if (role == Qt::ToolTipRole) {
        return QString::fromStdString(row.field->doc);
    }
    return {};
}

void ConfigDiffModel::setRuns(std::vector<RecipeRun> runs, size_t baseline) {
    beginResetModel();
    if (baseline < runs.size() && baseline != 0) {
        RecipeRun first = std::move(runs[baseline]);
        runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(baseline));
        runs.insert(runs.begin(), std::move(first));
    }
    runs_ = std::move(runs);
    std::vector<RecipeColumn> columns;
    columns.reserve(runs_.size());
    for (const RecipeRun& run : runs_) {
        columns.push_back(run.recipe);
    }
    all_rows_ = runs_.empty() ? std::vector<ConfigDiffRow>{} : diff_recipes(columns);
    rebuild();
    endResetModel();
}

void ConfigDiffModel::setDiffOnly(bool on) {
    if (on == diff_only_) {
        return;
    }
    beginResetModel();
    diff_only_ = on;
    rebuild();
    endResetModel();
}

void ConfigDiffModel::rebuild() {
    shown_.clear();
    for (size_t i = 0; i < all_rows_.size(); ++i) {
        if (!diff_only_ || all_rows_[i].differs) {
            shown_.push_back(i);
        }
    }
}

}  // namespace lowbit::ui
