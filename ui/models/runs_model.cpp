#include "models/runs_model.h"

#include "lowbit/store/run_annotations.h"

#include <QDateTime>
#include <QLocale>

#include <algorithm>
#include <cmath>

namespace lowbit::ui {

namespace {

QString durationText(double seconds) {
    const auto s = static_cast<qint64>(std::llround(seconds));
    if (s < 60) {
        return QStringLiteral("%1 s").arg(s);
    }
    if (s < 3600) {
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    }
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

QString lossText(const std::optional<double>& value) {
    if (!value) {
        return {};
    }
    return std::isfinite(*value) ? QString::number(*value, 'f', 4) : QStringLiteral("NaN");
}

QVariant sortValue(const std::optional<double>& value) {
    return value ? QVariant(*value) : QVariant(std::numeric_limits<double>::infinity());
}

}  // namespace

RunsModel::RunsModel(QObject* parent) : QAbstractTableModel(parent) {
    connect(this, &QAbstractItemModel::modelReset, this, &RunsModel::runsChanged);
    connect(this, &QAbstractItemModel::rowsInserted, this, &RunsModel::runsChanged);
    connect(this, &QAbstractItemModel::rowsRemoved, this, &RunsModel::runsChanged);
    connect(this, &QAbstractItemModel::dataChanged, this, &RunsModel::runsChanged);
}

int RunsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int RunsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QColor RunsModel::colourOf(int64_t run_id) {
    // Ten well-separated hues that read on light and dark backgrounds.
    static const QColor kColours[] = {QColor(0x1f, 0x77, 0xb4),
                                      QColor(0xff, 0x7f, 0x0e),
                                      QColor(0x2c, 0xa0, 0x2c),
                                      QColor(0xd6, 0x27, 0x28),
                                      QColor(0x94, 0x67, 0xbd),
                                      QColor(0x8c, 0x56, 0x4b),
                                      QColor(0xe3, 0x77, 0xc2),
                                      QColor(0x7f, 0x7f, 0x7f),
                                      QColor(0xbc, 0xbd, 0x22),
                                      QColor(0x17, 0xbe, 0xcf)};
    const auto index = static_cast<size_t>((run_id > 0 ? run_id - 1 : 0) % 10);
    return kColours[index];
}

QString RunsModel::statusText(store::RunStatus status) {
    return QString::fromLatin1(store::to_string(status));
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumnCount) {
        return {};
    }
    const RunRow& row = rows_[static_cast<size_t>(index.row())];
    const auto& r = row.record;
    if (role == kRunIdRole) {
        return QVariant::fromValue<qint64>(r.id);
    }
    const auto column = static_cast<Column>(index.column());
    if (role == Qt::CheckStateRole && column == kVisible) {
        return hidden_.count(r.id) ? Qt::Unchecked : Qt::Checked;
    }
    if (role == Qt::DecorationRole && column == kColour) {
        return colourOf(r.id);
    }
    if (role == Qt::ForegroundRole && column == kStatus) {
        switch (row.observed) {
            case store::RunStatus::kKilled:
            case store::RunStatus::kFailed:
            case store::RunStatus::kDiverged:
                return QColor(0xd6, 0x27, 0x28);
            case store::RunStatus::kRunning:
                return QColor(0x2c, 0xa0, 0x2c);
            default:
                return {};
        }
    }
    if (role == Qt::ToolTipRole) {
        if (column == kStatus && row.observed != r.status) {
            return tr("Recorded as %1, but its engine process (pid %2) is gone")
                .arg(statusText(r.status))
                .arg(r.pid.value_or(0));
        }
        if (column == kNotes) {
            return QString::fromStdString(r.notes);
        }
        if (column == kName && r.parent_run_id) {
            return tr("Forked from run %1 at step %2")
                .arg(*r.parent_run_id)
                .arg(r.fork_step.value_or(0));
        }
        return {};
    }
    const bool display = role == Qt::DisplayRole;
    const bool edit = role == Qt::EditRole;
    const bool sort = role == kSortRole;
    if (!display && !edit && !sort) {
        return {};
    }
    switch (column) {
        case kStatus:
            return statusText(row.observed);
        case kColour:
            return sort ? QVariant::fromValue<qint64>(r.id) : QVariant();
        case kVisible:
            return sort ? QVariant(hidden_.count(r.id) == 0) : QVariant();
        case kName:
            return QString::fromStdString(r.name);
        case kGroup:
            return QString::fromStdString(r.group_name);
        case kTags:
            return QString::fromStdString(r.tags);
        case kNotes:
            return display ? QString::fromStdString(r.notes).section(QLatin1Char('\n'), 0, 0)
                           : QString::fromStdString(r.notes);
        case kCreated:
            if (sort) {
                return r.created_at;
            }
            return QDateTime::fromSecsSinceEpoch(static_cast<qint64>(r.created_at))
                .toString(QStringLiteral("yyyy-MM-dd hh:mm"));
        case kDuration:
            return sort ? QVariant(row.duration_s)
                        : (r.started_at ? QVariant(durationText(row.duration_s)) : QVariant());
        case kSteps:
            if (sort) {
                return QVariant::fromValue<qint64>(row.steps_done);
            }
            return row.steps_total > 0
                       ? QStringLiteral("%1 / %2").arg(row.steps_done).arg(row.steps_total)
                       : QString::number(row.steps_done);
        case kBits:
            return QString::fromStdString(row.bits);
        case kLastValLoss:
            return sort ? sortValue(row.last_val_loss) : QVariant(lossText(row.last_val_loss));
        case kBestValLoss:
            return sort ? sortValue(row.best_val_loss) : QVariant(lossText(row.best_val_loss));
        case kTokens:
            if (sort) {
                return QVariant::fromValue<qint64>(row.tokens_seen.value_or(0));
            }
            return row.tokens_seen ? QLocale().toString(static_cast<qlonglong>(*row.tokens_seen))
                                   : QString();
        case kColumnCount:
            break;
    }
    return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (static_cast<Column>(section)) {
        case kStatus:
            return tr("Status");
        case kColour:
            return tr("Colour");
        case kVisible:
            return tr("Shown");
        case kName:
            return tr("Name");
        case kGroup:
            return tr("Group");
        case kTags:
            return tr("Tags");
        case kNotes:
            return tr("Notes");
        case kCreated:
            return tr("Created");
        case kDuration:
            return tr("Duration");
        case kSteps:
            return tr("Steps");
        case kBits:
            return tr("Bits");
        case kLastValLoss:
            return tr("Last val loss");
        case kBestValLoss:
            return tr("Best val loss");
        case kTokens:
            return tr("Tokens");
        case kColumnCount:
            break;
    }
    return {};
}

Qt::ItemFlags RunsModel::flags(const QModelIndex& index) const {
    if (!index.isValid()) {
        return Qt::NoItemFlags;
    }
    Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    switch (index.column()) {
        case kVisible:
            f |= Qt::ItemIsUserCheckable;
            break;
        case kGroup:
        case kTags:
        case kNotes:
            f |= Qt::ItemIsEditable;
            break;
        default:
            break;
    }
    return f;
}

bool RunsModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || index.row() >= rowCount()) {
        return false;
    }
    RunRow& row = rows_[static_cast<size_t>(index.row())];
    if (index.column() == kVisible && role == Qt::CheckStateRole) {
        setVisible(row.record.id, value.toInt() == Qt::Checked);
        return true;
    }
    if (role != Qt::EditRole) {
        return false;
    }
    const std::string text = value.toString().toStdString();
    store::RunAnnotation field;
    switch (index.column()) {
        case kGroup:
            field = store::RunAnnotation::kGroup;
            row.record.group_name = text;
            break;
        case kTags:
            field = store::RunAnnotation::kTags;
            row.record.tags = text;
            break;
        case kNotes:
            field = store::RunAnnotation::kNotes;
            row.record.notes = text;
            break;
        default:
            return false;
    }
    Q_EMIT dataChanged(index, index, {Qt::DisplayRole, Qt::EditRole, kSortRole});
    Q_EMIT annotationEdited(row.record.id, static_cast<int>(field), value.toString());
    return true;
}

void RunsModel::setRuns(std::vector<RunRow> rows) {
    // Remove the runs that are gone, update the ones that stay, insert the new ones at the top
    // (the reader lists newest first), so selections and editors survive a refresh.
    for (int i = rowCount() - 1; i >= 0; --i) {
        const int64_t id = rows_[static_cast<size_t>(i)].record.id;
        const bool kept = std::any_of(
            rows.begin(), rows.end(), [id](const RunRow& r) { return r.record.id == id; });
        if (!kept) {
            beginRemoveRows({}, i, i);
            rows_.erase(rows_.begin() + i);
            endRemoveRows();
        }
    }
    for (auto& incoming : rows) {
        const int at = rowOf(incoming.record.id);
        if (at >= 0) {
            rows_[static_cast<size_t>(at)] = std::move(incoming);
            Q_EMIT dataChanged(index(at, 0), index(at, kColumnCount - 1));
        } else {
            beginInsertRows({}, 0, 0);
            rows_.insert(rows_.begin(), std::move(incoming));
            endInsertRows();
            Q_EMIT visibleRunsChanged();
        }
    }
}

const RunRow* RunsModel::run(int64_t run_id) const {
    const int at = rowOf(run_id);
    return at < 0 ? nullptr : &rows_[static_cast<size_t>(at)];
}

int RunsModel::rowOf(int64_t run_id) const {
    for (size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].record.id == run_id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

std::vector<int64_t> RunsModel::visibleRuns() const {
    std::vector<int64_t> ids;
    for (const auto& row : rows_) {
        if (!hidden_.count(row.record.id)) {
            ids.push_back(row.record.id);
        }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

void RunsModel::setVisible(int64_t run_id, bool visible) {
    const bool changed = visible ? hidden_.erase(run_id) > 0 : hidden_.insert(run_id).second;
    if (!changed) {
        return;
    }
    const int at = rowOf(run_id);
    if (at >= 0) {
        Q_EMIT dataChanged(index(at, kVisible), index(at, kVisible), {Qt::CheckStateRole});
    }
    Q_EMIT visibleRunsChanged();
}

}  // namespace lowbit::ui
