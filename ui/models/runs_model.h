// RunsModel: the workspace's runs as a table (one row per run, newest first) for the run browser.
// Rows are replaced by setRuns() from the workspace worker's reads, matched by run id so views keep
// their selection. Each run has a colour (stable per run id, the colour of its lines on every
// chart) and a visibility toggle (whether the charts draw it). Tags, notes and group are editable:
// an edit is shown at once and announced by annotationEdited(), which the main window sends to the
// worker to write through lowbit_store.
#pragma once

#include <QAbstractTableModel>
#include <QColor>

#include <cstdint>
#include <set>
#include <vector>

#include "models/run_row.h"

namespace lowbit::ui {

class RunsModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column : int {
        kStatus,
        kColour,
        kVisible,
        kName,
        kGroup,
        kTags,
        kNotes,
        kCreated,
        kDuration,
        kSteps,
        kBits,
        kLastValLoss,
        kBestValLoss,
        kTokens,
        kColumnCount
    };

    // Qt::UserRole: a value to sort by (numbers as numbers); RunIdRole: the run id.
    static constexpr int kSortRole = Qt::UserRole;
    static constexpr int kRunIdRole = Qt::UserRole + 1;

    explicit RunsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;

    void setRuns(std::vector<RunRow> rows);

    const std::vector<RunRow>& runs() const {
        return rows_;
    }

    const RunRow* run(int64_t run_id) const;
    int rowOf(int64_t run_id) const;

    static QColor colourOf(int64_t run_id);
    static QString statusText(store::RunStatus status);
    // Runs drawn on the charts. New runs are visible by default.
    std::vector<int64_t> visibleRuns() const;
    void setVisible(int64_t run_id, bool visible);

    // The runs hidden from the charts, listed or not yet read (the saved layout names them).
    const std::set<int64_t>& hiddenRuns() const {
        return hidden_;
    }

Q_SIGNALS:
    void annotationEdited(qint64 runId, int field, const QString& text);  // field: RunAnnotation
    void visibleRunsChanged();
    // Any change of the rows (reset, rows inserted or removed, data changed): what views that
    // list the runs follow.
    void runsChanged();

private:
    std::vector<RunRow> rows_;
    std::set<int64_t> hidden_;
};

}  // namespace lowbit::ui
