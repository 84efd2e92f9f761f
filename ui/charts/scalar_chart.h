// ScalarChart: one scalar key for every visible run, overlaid in the runs' colours: the smoothed
// line over the faint raw line, NaN/Inf points as triangles at the top edge, run events
// (checkpoint, eval, resume, diverged, stopped) as marks at the bottom edge, the known loss
// floor of builtin:markov runs as a dashed line, and a vertical cursor shared with the other
// charts. Optionally a second key on the right axis (dashed lines, its own scale) and derived
// series (dotted lines), both listed in a legend (docs/studio.md §Secondary axes and stacked
// charts). Data arrives as finished containers (ChartData); replots are coalesced to at most one
// per 40 ms. Zooming or panning asks for the visible range again at full resolution (viewChanged).
// The chart's menu (the button at its top right corner) is filled by the view that owns it.
#pragma once

#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <map>
#include <optional>
#include <utility>

#include "charts/chart_series_builder.h"
#include "charts/plot_theme.h"

class QMenu;
class QToolButton;

namespace lowbit::ui {

struct RunStyle {
    QColor colour;
    QString name;
    std::optional<double> loss_floor;
};

class ScalarChart : public QWidget {
    Q_OBJECT

public:
    static constexpr int kReplotIntervalMs = 40;

    explicit ScalarChart(const QString& key, QWidget* parent = nullptr);

    const QString& key() const {
        return key_;
    }

    QCustomPlot* plot() const {
        return plot_;
    }

    void setChartData(const ChartData& data, const std::map<int64_t, RunStyle>& styles);

    const ChartData& chartData() const {
        return data_;
    }

    void setLogY(bool on);
    void setLogX(bool on);
    void setLogY2(bool on);

    // The visible ranges while zoomed or panned (nullopt: the whole series is shown).
    bool isZoomed() const {
        return zoomed_;
    }

    std::pair<double, double> xRange() const;
    std::pair<double, double> yRange() const;
    // Shows these ranges as if the person had zoomed there (y nullopt: fitted to the data).
    void setZoom(std::pair<double, double> x, std::optional<std::pair<double, double>> y);

    QMenu* menu() const {
        return menu_;
    }

    void setTheme(const PlotTheme& theme);
    void setCursorX(double x);  // NaN hides it
    void resetZoom();

    // For tests: graphs drawn per kind, and how many replots happened.
    int nonFiniteMarkerCount() const;
    int eventMarkerCount() const;
    int floorLineCount() const;

    int replotCount() const {
        return replots_;
    }

    void requestReplot();

Q_SIGNALS:
    void viewChanged(const QString& key, bool has_range, double lo, double hi, int columns);
    void cursorMoved(double x);
    void activated(const QString& key);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void rescale(bool fit_left);
    int pixelColumns() const;
    void addSecondaryGraphs(const RunChartData& run, const RunStyle& style);
    void onUserRangeChanged();

    QString key_;
    QCustomPlot* plot_ = nullptr;
    QCPItemStraightLine* cursor_ = nullptr;
    QCPAxis* marker_axis_ = nullptr;  // hidden 0..1 axis: markers sit at its top and bottom
    QToolButton* menu_button_ = nullptr;
    QMenu* menu_ = nullptr;
    QTimer replot_timer_;
    ChartData data_;
    std::map<int64_t, RunStyle> styles_;
    bool zoomed_ = false;
    bool rescaling_ = false;
    int replots_ = 0;
    int non_finite_markers_ = 0;
    int event_markers_ = 0;
    int floor_lines_ = 0;
};

}  // namespace lowbit::ui
