// QatResultsModel: the EfficientQAT results table of one source model as a Qt table model
// (docs/studio.md §EfficientQAT): a row per method and grid (qat_results.h), a perplexity column
// per corpus, then bits per weight, the block linears' packed size, time, peak memory and status.
// Numbers sort as numbers (kSortRole); kRunIdRole gives the row's run, which the view opens.
#pragma once

#include <QAbstractTableModel>

#include "qat/qat_results.h"

namespace lowbit::ui {

class QatResultsModel : public QAbstractTableModel {
    Q_OBJECT

public:
    static constexpr int kSortRole = Qt::UserRole;
    static constexpr int kRunIdRole = Qt::UserRole + 1;

    explicit QatResultsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setResults(QatResults results);

    const QatResults& results() const {
        return results_;
    }

    // The column of a corpus's perplexity; -1 when no row was scored on it.
    int perplexityColumn(const std::string& corpus) const;

private:
    enum Fixed : int { kGrid, kMethod, kFixedBefore };

    enum After : int { kBits, kSize, kTime, kMemory, kStatus, kAfterCount };

    QatResults results_;
};

}  // namespace lowbit::ui
