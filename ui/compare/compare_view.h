// CompareView: runs side by side (docs/studio.md §Compare). The runs come from the run browser
// (those shown on the charts) or from one sweep group; one of them is the baseline. It shows the
// overlaid curves of a chosen scalar key (a ScalarChart), the curves of groups of runs (mean or
// median with a min-max, ±sd or ±SEM band, members optional), the config diff, the results with
// their differences to the baseline, and the groups' final val/loss. Data is read on demand
// through a read-only connection of its own (refresh(), coalesced, and only while shown).
#pragma once

#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <QTimer>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <vector>

#include "charts/chart_series_builder.h"
#include "compare/compare_runs.h"
#include "compare/group_curves.h"
#include "compare/run_groups.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QSplitter;
class QTableView;
class QVBoxLayout;

namespace lowbit::ui {

class ConfigDiffModel;
class RunResultsModel;
class RunsModel;
class ScalarChart;
class SeedGroupsModel;

class CompareView : public QWidget {
    Q_OBJECT

public:
    explicit CompareView(RunsModel* runs, QWidget* parent = nullptr);
    ~CompareView() override;

    // Opens `root` read-only for the view's reads; a failure is shown in the message line.
    void setWorkspace(const QString& root);
    // The runs compared: those shown on the charts (an empty group) or a sweep group's.
    void setSourceGroup(const QString& group);
    void setBaseline(int64_t run_id);
    void setKey(const QString& key);
    // kGroupByConfiguration, kGroupBySweep or a recipe key path (run_groups.h).
    void setGrouping(const QString& grouping);
    void setCentre(GroupCentre centre);
    void setBand(GroupBand band);
    void setShowMembers(bool on);
    void setSmoothing(double weight);
    void applyTheme();

    // Reads the compared runs again and redraws everything (synchronous).
    void refresh();

    const std::vector<int64_t>& runIds() const {
        return run_ids_;
    }

    int64_t baseline() const {
        return baseline_;
    }

    const QString& key() const {
        return key_;
    }

    const std::vector<CompareRun>& comparedRuns() const {
        return compared_;
    }

    ConfigDiffModel* configDiff() const {
        return config_diff_;
    }

    RunResultsModel* results() const {
        return results_;
    }

    SeedGroupsModel* seedGroups() const {
        return seed_groups_;
    }

    ScalarChart* curves() const {
        return curves_;
    }

    QCustomPlot* groupPlot() const {
        return group_plot_;
    }

    QCheckBox* diffOnlyBox() const {
        return diff_only_;
    }

    // The group curves drawn, one per group in the seed groups table's order.
    const std::vector<std::vector<BandPoint>>& groupCurves() const {
        return group_curves_;
    }

    QString message() const;

protected:
    void showEvent(QShowEvent* event) override;

private:
    void buildControls();
    void scheduleRefresh();
    void updateSources();
    std::vector<int64_t> sourceRuns() const;
    void updateBaselineBox();
    void updateKeyBox();
    void fillTables();
    void drawCurves();
    // The groups of the compared runs (with their final val/loss statistics), read again when
    // the runs or the grouping change; drawGroups() draws them from the series in memory.
    void regroup();
    void drawGroups();

    RunsModel* runs_;
    std::unique_ptr<store::Workspace> workspace_;
    std::unique_ptr<store::RunReader> reader_;
    QString source_group_;
    std::vector<int64_t> run_ids_;
    std::vector<CompareRun> compared_;
    ChartSeriesBuilder series_;
    int64_t baseline_ = 0;
    QString key_ = QStringLiteral("train/loss");
    QString grouping_;
    GroupCentre centre_ = GroupCentre::kMean;
    GroupBand band_ = GroupBand::kMinMax;
    bool show_members_ = true;
    double smoothing_ = 0.6;
    std::vector<store::SeedAggregate> groups_;
    std::vector<std::vector<BandPoint>> group_curves_;
    QTimer refresh_timer_;
    bool stale_ = true;
    bool updating_controls_ = false;
    QString workspace_error_;
    QString recipe_errors_;

    QComboBox* source_box_ = nullptr;
    QComboBox* baseline_box_ = nullptr;
    QComboBox* key_box_ = nullptr;
    QDoubleSpinBox* smoothing_box_ = nullptr;
    QComboBox* grouping_box_ = nullptr;
    QComboBox* centre_box_ = nullptr;
    QComboBox* band_box_ = nullptr;
    QCheckBox* members_box_ = nullptr;
    QCheckBox* diff_only_ = nullptr;
    QLabel* message_ = nullptr;
    QVBoxLayout* curves_holder_ = nullptr;
    ScalarChart* curves_ = nullptr;
    QCustomPlot* group_plot_ = nullptr;
    ConfigDiffModel* config_diff_ = nullptr;
    RunResultsModel* results_ = nullptr;
    SeedGroupsModel* seed_groups_ = nullptr;
};

}  // namespace lowbit::ui
