// ChartsView: the chart area. One ScalarChart per scalar key of the visible runs (the usual keys
// first: train/loss, val/loss, lr, grad_norm, weight_norm, throughput/tokens_per_s, then the
// others), the display controls (x axis, smoothing weight, log axes) and the range readout of the
// chart last used (value, smoothed, min, max, mean and change per run over its visible range).
#pragma once

#include <QWidget>

#include <map>

#include "charts/chart_series_builder.h"
#include "charts/scalar_chart.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QTableWidget;

namespace lowbit::ui {

class RunsModel;

class ChartsView : public QWidget {
    Q_OBJECT

public:
    static constexpr double kDefaultSmoothing = 0.6;

    explicit ChartsView(RunsModel* runs, QWidget* parent = nullptr);

    ScalarChart* chart(const QString& key) const;
    QList<ScalarChart*> charts() const;

    QTableWidget* readout() const {
        return readout_;
    }

    XAxisKind xAxis() const;
    double smoothing() const;
    void setXAxis(XAxisKind kind);
    void setSmoothing(double weight);
    void applyTheme();

public Q_SLOTS:
    void onChartsRead(const std::vector<lowbit::ui::ChartData>& charts);

Q_SIGNALS:
    void displayChanged(int x_axis, double smoothing);
    void chartViewChanged(const QString& key, bool has_range, double lo, double hi, int columns);

private:
    ScalarChart* ensureChart(const QString& key);
    void relayout();
    void updateReadout();
    std::map<int64_t, RunStyle> styles() const;

    RunsModel* runs_;
    QComboBox* x_axis_ = nullptr;
    QDoubleSpinBox* smoothing_ = nullptr;
    QCheckBox* log_x_ = nullptr;
    QCheckBox* log_y_ = nullptr;
    QGridLayout* grid_ = nullptr;
    QTableWidget* readout_ = nullptr;
    std::map<QString, ScalarChart*> charts_;
    QString active_key_ = QStringLiteral("train/loss");
};

}  // namespace lowbit::ui
