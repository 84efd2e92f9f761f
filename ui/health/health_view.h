// HealthView: where quantization hurts in one run (docs/studio.md §Quantization health). Run,
// tensor kind and metric pickers over a layer × step heatmap of the metric (layers top to bottom
// in model order, a colour bar in the metric's unit, undefined cells left empty) and the
// worst-layers table; a click on a cell or a row asks for that tensor's histograms at that step
// (tensorChosen). A second page compares one layer's histograms across runs (CrossRunView). The
// statistics come from a TelemetryWorker, which follows the run by row id while it records;
// openWorkspace() runs it, and the cross-run reads, in a thread of the view's own.
#pragma once

#include <QThread>
#include <QWidget>

#include <cstdint>
#include <string>
#include <vector>

#include "charts/plot_theme.h"
#include "health/health_grid.h"
#include "health/health_metrics.h"
#include "histograms/telemetry_worker.h"

class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCustomPlot;
class QLabel;
class QTableView;
class QTabWidget;

namespace lowbit::ui {

class CrossRunReader;
class CrossRunView;
class RunsModel;
class WorstLayersModel;
class WorstLayersProxy;

class HealthView : public QWidget {
    Q_OBJECT

public:
    explicit HealthView(RunsModel* runs, QWidget* parent = nullptr);
    ~HealthView() override;

    // Starts a TelemetryWorker and a CrossRunReader for `root` in a thread of the view's own.
    void openWorkspace(const QString& root);
    // Wires readers that live elsewhere (the snapshot and the tests call them directly).
    void connectReaders(TelemetryWorker* worker, CrossRunReader* reader);

    void setRun(int64_t run_id);
    void setKind(const QString& kind);  // "weight" or "W", ...
    void setMetric(HealthMetric metric);
    void applyTheme();
    // What a click on heatmap cell (layer index, step index) does.
    void chooseCell(int layer_index, int step_index);
    // What a click on row `proxy_row` of the worst-layers table does: the worst step when the
    // click is on the worst value or its step, else the latest step.
    void chooseTableRow(int proxy_row, int column);

    int64_t runId() const {
        return run_id_;
    }

    const std::string& kind() const {
        return kind_;
    }

    HealthMetric metric() const {
        return metric_;
    }

    const HealthGrid& grid() const {
        return grid_;
    }

    // The statistics rows of the run read so far.
    const std::vector<store::TensorStatsRecord>& statistics() const {
        return rows_;
    }

    // What is shown instead of (or above) the plot: no telemetry, no rows of this kind...
    QString message() const;

    // For the tests: the widgets and what they draw.
    QCustomPlot* heatmapPlot() const {
        return plot_;
    }

    QCPColorMap* heatmap() const {
        return heatmap_;
    }

    QCPColorScale* colourScale() const {
        return colour_scale_;
    }

    WorstLayersModel* worstLayers() const {
        return worst_model_;
    }

    WorstLayersProxy* worstLayersSorted() const {
        return worst_proxy_;
    }

    QTableView* worstLayersTable() const {
        return table_;
    }

    CrossRunView* crossRuns() const {
        return cross_runs_;
    }

    // Brings the across-runs page to the front.
    void showCrossRuns();

Q_SIGNALS:
    // The tensor a click chose: the histogram inspector opens it at that step.
    void tensorChosen(qint64 run_id, const QString& layer, const QString& kind, qint64 step);
    // The run whose statistics are wanted (to the TelemetryWorker's select()).
    void runSelected(qint64 run_id, const QString& layer, const QString& kind);

public Q_SLOTS:
    void onStatisticsRead(const lowbit::ui::StatisticsRows& rows);

private:
    void buildControls();
    void refreshRuns();
    void redraw();
    void drawHeatmap();
    void setMessage(const QString& text);
    // What to say when the kind shown has no quantizer in this run ("" when it has one).
    QString unquantizedKindHint() const;

    RunsModel* runs_;
    QThread thread_;
    int64_t run_id_ = 0;
    std::string kind_ = "weight";
    HealthMetric metric_ = HealthMetric::kSqnr;
    std::vector<store::TensorStatsRecord> rows_;
    HealthGrid grid_;
    PlotTheme theme_;
    bool updating_controls_ = false;

    QTabWidget* tabs_ = nullptr;
    QComboBox* run_box_ = nullptr;
    QComboBox* kind_box_ = nullptr;
    QComboBox* metric_box_ = nullptr;
    QLabel* message_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPColorMap* heatmap_ = nullptr;
    QCPColorScale* colour_scale_ = nullptr;
    WorstLayersModel* worst_model_ = nullptr;
    WorstLayersProxy* worst_proxy_ = nullptr;
    QTableView* table_ = nullptr;
    CrossRunView* cross_runs_ = nullptr;
};

}  // namespace lowbit::ui
