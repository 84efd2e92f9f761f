// ChartsView: the chart area. One ScalarChart per scalar key of the visible runs (the usual keys
// first: train/loss, val/loss, lr, grad_norm, weight_norm, throughput/tokens_per_s, then the
// others), in a grid of two columns or stacked in one column on a shared x axis, the display
// controls (arrangement, x axis, smoothing weight, log axes, baseline run, charts to add back),
// each chart's menu (secondary key, derived series, remove) and the range readout of the chart last
// used (value, smoothed, min, max, mean and change per run over its visible range). Everything set
// here is one ChartsState value: state() reads it, applyState() shows one, and each edit a person
// makes is announced with the state before and after it (stateEdited), which the undo stack keeps
// (docs/studio.md §Layouts and undo).
#pragma once

#include <QPointer>
#include <QWidget>

#include <functional>
#include <map>
#include <optional>

#include "charts/chart_series_builder.h"
#include "charts/charts_state.h"
#include "charts/scalar_chart.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QTableWidget;
class QToolButton;

namespace lowbit::ui {

class RunsModel;

class ChartsView : public QWidget {
    Q_OBJECT

public:
    static constexpr double kDefaultSmoothing = ChartsState::kDefaultSmoothing;
    // stateEdited's merge id of smoothing edits: consecutive ones are one undo step.
    static constexpr int kSmoothingEdit = 1;

    // How applyState treats the zoomed ranges: a restored layout brings its own; an undo or redo
    // keeps what is shown (zooming is not an undoable edit) unless the x quantity changes.
    enum class RangePolicy { kApply, kKeepCurrent };

    explicit ChartsView(RunsModel* runs, QWidget* parent = nullptr);

    ScalarChart* chart(const QString& key) const;
    QList<ScalarChart*> charts() const;
    // The keys of the charts shown (not removed), in their order on screen.
    QStringList shownKeys() const;

    QTableWidget* readout() const {
        return readout_;
    }

    ChartsState state() const;
    void applyState(ChartsState state, RangePolicy policy);
    // What the worker needs to build the secondary and derived series.
    SeriesOptions seriesOptions() const;

    XAxisKind xAxis() const;
    double smoothing() const;

    // The edits a person makes through the controls and menus; each one is announced by
    // stateEdited (nothing when it changes nothing).
    void setXAxis(XAxisKind kind);
    void setSmoothing(double weight);
    void setLogX(bool on);
    void setLogY(bool on);
    void setMode(ChartsMode mode);
    void setBaselineRun(std::optional<int64_t> run_id);
    void setSecondaryKey(const QString& key, const QString& secondary_key);
    void setSecondaryLog(const QString& key, bool on);
    void addDerived(const QString& key, const DerivedSpec& spec);
    void removeDerived(const QString& key, int index);
    void removeChart(const QString& key);
    void addChart(const QString& key);

    void applyTheme();

public Q_SLOTS:
    void onChartsRead(const std::vector<lowbit::ui::ChartData>& charts);

Q_SIGNALS:
    void displayChanged(int x_axis, double smoothing);
    void chartViewChanged(const QString& key, bool has_range, double lo, double hi, int columns);
    void seriesOptionsChanged(const lowbit::ui::SeriesOptions& options);
    // An edit a person made (text: what the Edit menu says, merge_id: -1 or kSmoothingEdit).
    void stateEdited(const QString& text,
                     int merge_id,
                     const lowbit::ui::ChartsState& before,
                     const lowbit::ui::ChartsState& after);
    // Any change of state(), edits, undo, zooming and panning included.
    void stateChanged();

private:
    ScalarChart* ensureChart(const QString& key);
    void edit(const QString& text, int merge_id, const std::function<void(ChartsState&)>& change);
    void relayout();
    void updateMarginGroup();
    void syncControls();
    void fillChartMenu(ScalarChart* chart);
    void fillAddMenu();
    void fillBaselines();
    void onChartView(const QString& key, bool has_range, double lo, double hi);
    void updateReadout();
    std::map<int64_t, RunStyle> styles() const;

    RunsModel* runs_;
    QComboBox* mode_ = nullptr;
    QComboBox* x_axis_ = nullptr;
    QDoubleSpinBox* smoothing_ = nullptr;
    QCheckBox* log_x_ = nullptr;
    QCheckBox* log_y_ = nullptr;
    QComboBox* baseline_ = nullptr;
    QStringList baseline_runs_;  // "id name" of the runs listed in baseline_
    QToolButton* add_chart_ = nullptr;
    QWidget* chart_area_ = nullptr;
    QGridLayout* grid_ = nullptr;
    QTableWidget* readout_ = nullptr;
    std::map<QString, ScalarChart*> charts_;
    QString active_key_ = QStringLiteral("train/loss");
    ChartsState state_;  // ranges here only wait for charts not created yet
    SeriesOptions sent_options_;
    QPointer<QCPMarginGroup> margin_group_;
    bool syncing_ranges_ = false;
};

}  // namespace lowbit::ui
