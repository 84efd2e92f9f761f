// CrossRunReader: the reads behind the cross-run histograms, on a read-only connection of its own
// in the health view's worker thread (or called directly by the tests): for each chosen run the
// value histograms of one (layer, kind) and the token count of each logged step.
#pragma once

#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>
#include <string>
#include <vector>

#include "health/cross_run_histograms.h"

namespace lowbit::ui {

struct CrossRunData {
    std::string layer;
    std::string kind;
    std::vector<RunHistograms> runs;  // in the order asked for
};

// Reads one run's histograms of (layer, kind): its uniform rows (the newest per step) and the
// steps' token counts from the `tokens` scalar.
RunHistograms read_run_histograms(const store::RunReader& reader,
                                  int64_t run_id,
                                  const std::string& layer,
                                  const std::string& kind);

class CrossRunReader : public QObject {
    Q_OBJECT

public:
    explicit CrossRunReader(QString workspace_root, QObject* parent = nullptr);
    ~CrossRunReader() override;

public Q_SLOTS:
    void open();
    void read(const QList<qint64>& run_ids, const QString& layer, const QString& kind);

Q_SIGNALS:
    void dataRead(const lowbit::ui::CrossRunData& data);
    void failed(const QString& message);

private:
    QString root_;
    std::unique_ptr<store::Workspace> workspace_;
    std::unique_ptr<store::RunReader> reader_;
};

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(lowbit::ui::CrossRunData)
