// HistogramInspector: the distributions a run recorded (docs/quantized-pretraining.md §Telemetry).
// On the left the run, the layer (a tree by block: blocks.3.attn.qkv under blocks.3), the tensor
// kind (W, A, G, m, v) and the chosen step's statistics (quantizer, scale, clipped and
// underflowed fractions, SQNR, ...). On the right two plots: the step plot (one step as bars, or
// several steps overlaid as lines, in value units with the quantizer's levels and clip range
// drawn over them, or on the stored grid/log2 bins) and the over-steps plot (a heatmap of the
// histogram over steps, or percentile bands). A step slider defaults to the latest step and
// keeps following a live run while it stays at the end. Data comes from a TelemetryWorker as
// finished containers; openWorkspace() runs one in a thread of its own.
#pragma once

#include <QThread>
#include <QWidget>

#include <optional>
#include <set>
#include <string>

#include "charts/plot_theme.h"
#include "histograms/histogram_math.h"
#include "histograms/telemetry_worker.h"

class QCheckBox;
class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QSlider;
class QTreeWidget;
class QTreeWidgetItem;

namespace lowbit::ui {

class RunsModel;

class HistogramInspector : public QWidget {
    Q_OBJECT

public:
    enum class StepMode { kBars, kOverlay };
    enum class StepBins { kValues, kStored };  // uniform in value units, or grid/log2 as stored
    enum class OverStepsMode { kHeatmap, kPercentiles };
    static constexpr int kOverlaidSteps = 6;
    static constexpr int kRebinnedBins = 128;
    // The percentiles drawn as bands over steps (fractions of the finite values).
    static constexpr double kBandOuter = 0.05, kBandInner = 0.25;

    explicit HistogramInspector(RunsModel* runs, QWidget* parent = nullptr);
    ~HistogramInspector() override;

    // Starts a TelemetryWorker for `root` in a thread of the inspector's own.
    void openWorkspace(const QString& root);
    // Wires a worker that lives elsewhere (the snapshot and the tests call it directly).
    void connectWorker(TelemetryWorker* worker);

    // The run, layer and tensor kind shown ("weight", ...). An empty layer or kind is chosen
    // from what the run recorded (the first layer, W when recorded).
    void setSelection(int64_t run_id, const QString& layer = {}, const QString& kind = {});
    void setStepMode(StepMode mode);
    void setStepBins(StepBins bins);
    void setOverStepsMode(OverStepsMode mode);
    void setLogY(bool on);
    void setStepIndex(int index);
    void applyTheme();

    int64_t runId() const {
        return run_id_;
    }

    const std::string& layer() const {
        return layer_;
    }

    const std::string& kind() const {
        return kind_;
    }

    const TelemetryCatalogue& catalogue() const {
        return catalogue_;
    }

    const TensorSeries& series() const {
        return series_;
    }

    // The step shown in the step plot (nullopt with no data).
    std::optional<int64_t> currentStep() const;

    // For the tests: the widgets and what they draw.
    QSlider* stepSlider() const {
        return slider_;
    }

    QTreeWidget* layerTree() const {
        return tree_;
    }

    QCustomPlot* stepPlot() const {
        return step_plot_;
    }

    QCustomPlot* overStepsPlot() const {
        return time_plot_;
    }

    QCPColorMap* heatmap() const {
        return heatmap_;
    }

    // The graphs of the quantizer overlay (nullptr when not drawn): levels, the coarse levels
    // of several scales, and the clip range's two ends.
    QCPGraph* levelsGraph() const {
        return levels_graph_;
    }

    QCPGraph* coarseLevelsGraph() const {
        return coarse_levels_graph_;
    }

    QCPGraph* clipGraph() const {
        return clip_graph_;
    }

    // A graph of the over-steps plot by name ("p5", "p25", "median", "p75", "p95", "min", "max").
    QCPGraph* percentileGraph(const QString& name) const;
    // The statistics label `name` (clip_fraction, underflow_fraction, sqnr_db, mse, scale, ...).
    QLabel* statisticLabel(const QString& name) const;

    // What the heatmap's rows are: "grid" (code units), "log2" (exponents) or "uniform"
    // (value units, rebinned), and the stored bin of its first row.
    const QString& heatmapScheme() const {
        return heatmap_scheme_;
    }

    int heatmapFirstBin() const {
        return heatmap_first_bin_;
    }

Q_SIGNALS:
    void selectionChanged(qint64 run_id, const QString& layer, const QString& kind);

public Q_SLOTS:
    // One tensor at one of its recorded steps; the step is shown as soon as the series that
    // holds it has been read (another selection first forgets it).
    void showStep(qint64 run_id, const QString& layer, const QString& kind, qint64 step);
    void onCatalogueRead(const lowbit::ui::TelemetryCatalogue& catalogue);
    void onSeriesRead(const lowbit::ui::TensorSeries& series);

private:
    void buildControls();
    void refreshRuns();
    void rebuildTree();
    void updateKinds();
    void chooseDefaults();
    void announceSelection();
    void redraw();
    void drawStepPlot();
    void drawOverlay(const TensorStep& step, double& x_lo, double& x_hi);
    void drawOverStepsPlot();
    void drawHeatmap();
    void drawPercentiles();
    void updateStatistics();
    void setStatistic(const QString& name, const QString& text);
    void applyPendingStep();

    RunsModel* runs_;
    QThread thread_;
    int64_t run_id_ = 0;
    std::string layer_;
    std::string kind_;
    TelemetryCatalogue catalogue_;
    TensorSeries series_;
    StepMode step_mode_ = StepMode::kBars;
    StepBins step_bins_ = StepBins::kValues;
    OverStepsMode over_steps_mode_ = OverStepsMode::kHeatmap;
    bool log_y_ = false;
    PlotTheme theme_;

    QComboBox* run_box_ = nullptr;
    QTreeWidget* tree_ = nullptr;
    QComboBox* kind_box_ = nullptr;
    QSlider* slider_ = nullptr;
    QLabel* step_label_ = nullptr;
    QComboBox* step_mode_box_ = nullptr;
    QComboBox* bins_box_ = nullptr;
    QComboBox* over_steps_box_ = nullptr;
    QCheckBox* log_y_box_ = nullptr;
    QWidget* stats_panel_ = nullptr;
    QCustomPlot* step_plot_ = nullptr;
    QCustomPlot* time_plot_ = nullptr;
    QCPColorMap* heatmap_ = nullptr;
    QCPColorScale* colour_scale_ = nullptr;
    QCPItemStraightLine* step_marker_ = nullptr;
    QCPGraph* levels_graph_ = nullptr;
    QCPGraph* coarse_levels_graph_ = nullptr;
    QCPGraph* clip_graph_ = nullptr;
    QString heatmap_scheme_;
    int heatmap_first_bin_ = 0;
    bool updating_controls_ = false;
    std::optional<int64_t> pending_step_;
};

}  // namespace lowbit::ui
