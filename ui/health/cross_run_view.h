// CrossRunView: one layer and tensor kind across runs (docs/studio.md §Cross-run histograms). The
// value histograms of the chosen runs overlaid at one step of the reference run (the first
// chosen), each run at the same step or at the step whose token count is nearest, on common bins
// (align_histograms); below, the difference A − B of the first two runs over the steps both
// recorded, as a heatmap on common bins. Data comes from a CrossRunReader.
#pragma once

#include <QList>
#include <QWidget>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "charts/plot_theme.h"
#include "health/cross_run_histograms.h"
#include "health/cross_run_reader.h"

class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QListWidget;
class QSlider;

namespace lowbit::ui {

class RunsModel;

class CrossRunView : public QWidget {
    Q_OBJECT

public:
    explicit CrossRunView(RunsModel* runs, QWidget* parent = nullptr);

    void connectReader(CrossRunReader* reader);

    // The runs compared, the reference first; the reference alone is put first, the others kept.
    void setRuns(const QList<qint64>& run_ids);
    void setReferenceRun(int64_t run_id);
    void setTensor(const QString& layer, const QString& kind);
    void setKind(const QString& kind);
    // The layers offered (the reference run's); the first is chosen while none is.
    void setLayers(const std::vector<std::string>& layers);
    void setMatch(CrossRunMatch match);
    void setStepIndex(int index);  // among the reference run's recorded steps
    void applyTheme();
    // Reads the chosen runs again (a running run recorded more).
    void refresh();

    const QList<qint64>& runs() const {
        return chosen_;
    }

    const CrossRunData& data() const {
        return data_;
    }

    std::optional<int64_t> referenceStep() const;

    // Per chosen run, the step its histogram in the overlay comes from.
    const std::vector<std::optional<int64_t>>& matchedSteps() const {
        return matched_;
    }

    const AlignedHistograms& overlay() const {
        return overlay_;
    }

    const HistogramDifference& difference() const {
        return difference_;
    }

    QString message() const;

    // For the tests: the plots and what they draw.
    QCustomPlot* overlayPlot() const {
        return overlay_plot_;
    }

    // The overlay's graph of chosen run `index` (nullptr when that run has no matching step).
    QCPGraph* overlayGraph(int index) const;

    QCustomPlot* differencePlot() const {
        return difference_plot_;
    }

    QCPColorMap* differenceMap() const {
        return difference_map_;
    }

Q_SIGNALS:
    void readRequested(const QList<qint64>& run_ids, const QString& layer, const QString& kind);

public Q_SLOTS:
    void onDataRead(const lowbit::ui::CrossRunData& data);

private:
    void buildControls();
    void refreshRunList();
    void redraw();
    void drawOverlay(QStringList& notes);
    void drawDifference(QStringList& notes);
    QString runName(int64_t run_id) const;

    RunsModel* runs_;
    QList<qint64> chosen_;
    std::string layer_;
    std::string kind_ = "weight";
    CrossRunMatch match_ = CrossRunMatch::kSameStep;
    CrossRunData data_;
    std::vector<std::optional<int64_t>> matched_;
    AlignedHistograms overlay_;
    HistogramDifference difference_;
    std::vector<QCPGraph*> overlay_graphs_;
    PlotTheme theme_;
    bool updating_controls_ = false;

    QListWidget* run_list_ = nullptr;
    QComboBox* layer_box_ = nullptr;
    QComboBox* kind_box_ = nullptr;
    QComboBox* match_box_ = nullptr;
    QSlider* slider_ = nullptr;
    QLabel* step_label_ = nullptr;
    QLabel* message_ = nullptr;
    QCustomPlot* overlay_plot_ = nullptr;
    QCustomPlot* difference_plot_ = nullptr;
    QCPColorMap* difference_map_ = nullptr;
    QCPColorScale* difference_scale_ = nullptr;
};

}  // namespace lowbit::ui
