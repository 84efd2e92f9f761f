#include "export/plot_export.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>
#include <QStringList>
#include <QTemporaryFile>

#include <cmath>
#include <cstdio>
#include <vector>

namespace lowbit::ui {

namespace {

QString cannot_write(const QString& path, const QString& why) {
    return QStringLiteral("%1: cannot write the file (%2)")
        .arg(QDir::toNativeSeparators(path), why);
}

// RFC 4180 quoting where a field needs it.
QString csv_field(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n'))) {
        return text;
    }
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

// Shortest text that reads back as the same double; non-finite as nan/inf/-inf.
QString csv_number(double value) {
    if (std::isnan(value)) {
        return QStringLiteral("nan");
    }
    if (std::isinf(value)) {
        return value > 0 ? QStringLiteral("inf") : QStringLiteral("-inf");
    }
    return QString::number(value, 'g', 17);
}

QString csv_line(const QStringList& fields) {
    QStringList quoted;
    for (const QString& field : fields) {
        quoted << csv_field(field);
    }
    return quoted.join(QLatin1Char(',')) + QLatin1Char('\n');
}

// The label of cell `index` of a colour map along one axis: its property list, else the axis'
// text tick at that coordinate.
QString cell_label(const QCPColorMap& map,
                   const char* property,
                   int index,
                   const QCPAxis* axis,
                   double coordinate) {
    const QStringList labels = map.property(property).toStringList();
    if (index >= 0 && index < labels.size()) {
        return labels[index];
    }
    if (auto text = qSharedPointerDynamicCast<QCPAxisTickerText>(axis->ticker())) {
        return text->ticks().value(coordinate);
    }
    return {};
}

QString run_of(const QCPAbstractPlottable& plottable) {
    const QVariant run = plottable.property("run");
    return run.isValid() ? run.toString() : QString();
}

}  // namespace

QString export_plot_png(QCustomPlot& plot, const QString& path, double scale) {
    const QPixmap pixmap = plot.toPixmap(0, 0, scale);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return cannot_write(path, file.errorString());
    }
    if (pixmap.isNull() || !pixmap.toImage().save(&file, "PNG")) {
        file.cancelWriting();
        return cannot_write(path, QStringLiteral("the plot did not render to a PNG"));
    }
    if (!file.commit()) {
        return cannot_write(path, file.errorString());
    }
    return {};
}

QString export_plot_pdf(QCustomPlot& plot, const QString& path) {
    // savePdf opens the file by name, so it writes a temporary file beside `path` that then
    // replaces it in one rename.
    QTemporaryFile temporary(QFileInfo(path).absoluteFilePath() + QStringLiteral(".XXXXXX"));
    if (!temporary.open()) {
        return cannot_write(path, temporary.errorString());
    }
    temporary.close();
    if (!plot.savePdf(
            temporary.fileName(), 0, 0, QCP::epAllowCosmetic, QStringLiteral("Lowbit Studio"))) {
        return cannot_write(path, QStringLiteral("the plot did not render to a PDF"));
    }
    if (std::rename(QFile::encodeName(temporary.fileName()).constData(),
                    QFile::encodeName(path).constData()) != 0) {
        return cannot_write(path, QStringLiteral("the finished PDF could not be moved there"));
    }
    temporary.setAutoRemove(false);  // it is `path` now
    return {};
}

QString export_csv(const QString& csv, const QString& path) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        return cannot_write(path, file.errorString());
    }
    if (file.write(csv.toUtf8()) < 0 || !file.commit()) {
        return cannot_write(path, file.errorString());
    }
    return {};
}

QString scalar_chart_csv(const ChartData& data, const std::map<int64_t, QString>& names) {
    QString csv = csv_line({QStringLiteral("run_id"),
                            QStringLiteral("run"),
                            QStringLiteral("series"),
                            QStringLiteral("x_axis"),
                            QStringLiteral("x"),
                            QStringLiteral("raw"),
                            QStringLiteral("smoothed")});
    const QString axis = x_axis_label(data.x_axis);
    auto name_of = [&names](int64_t run_id) {
        const auto named = names.find(run_id);
        return named == names.end() ? QString::number(run_id) : named->second;
    };
    auto add_run = [&](const RunChartData& run, const QString& series) {
        // Both containers are sorted by x: merge them, one row per x (a row per point where a
        // series holds one x twice).
        auto raw = run.raw ? run.raw->constBegin() : QCPGraphDataContainer::const_iterator();
        const auto raw_end = run.raw ? run.raw->constEnd() : raw;
        auto smooth =
            run.smoothed ? run.smoothed->constBegin() : QCPGraphDataContainer::const_iterator();
        const auto smooth_end = run.smoothed ? run.smoothed->constEnd() : smooth;
        while (raw != raw_end || smooth != smooth_end) {
            const bool take_raw =
                raw != raw_end && (smooth == smooth_end || raw->key <= smooth->key);
            const bool take_smooth =
                smooth != smooth_end && (raw == raw_end || smooth->key <= raw->key);
            const double x = take_raw ? raw->key : smooth->key;
            csv += csv_line({QString::number(run.run_id),
                             name_of(run.run_id),
                             series,
                             axis,
                             csv_number(x),
                             take_raw ? csv_number(raw->value) : QString(),
                             take_smooth ? csv_number(smooth->value) : QString()});
            if (take_raw) {
                ++raw;
            }
            if (take_smooth) {
                ++smooth;
            }
        }
    };
    for (const RunChartData& run : data.runs) {
        add_run(run, data.key);
    }
    // The right axis' key and the derived series are drawn too (docs/studio.md §Derived series).
    for (const RunChartData& run : data.secondary) {
        add_run(run, data.secondary_key);
    }
    for (const DerivedCurve& curve : data.derived) {
        const QString series =
            data.key + QLatin1Char(' ') + QString::fromStdString(derived_suffix(curve.spec));
        if (!curve.points) {
            continue;
        }
        for (auto point = curve.points->constBegin(); point != curve.points->constEnd(); ++point) {
            csv += csv_line({QString::number(curve.run_id),
                             name_of(curve.run_id),
                             series,
                             axis,
                             csv_number(point->key),
                             csv_number(point->value),
                             QString()});
        }
    }
    return csv;
}

QString plot_csv(QCustomPlot& plot) {
    QString csv = csv_line({QStringLiteral("series"),
                            QStringLiteral("role"),
                            QStringLiteral("run_id"),
                            QStringLiteral("x"),
                            QStringLiteral("x_label"),
                            QStringLiteral("y"),
                            QStringLiteral("y_label"),
                            QStringLiteral("value")});
    for (int p = 0; p < plot.plottableCount(); ++p) {
        const QCPAbstractPlottable* plottable = plot.plottable(p);
        if (!plottable->visible()) {
            continue;
        }
        const QString series = plottable->name();
        const QString role = plottable->property("role").toString();
        const QString run = run_of(*plottable);
        auto point = [&](double x, double y) {
            csv += csv_line({series, role, run, csv_number(x), {}, csv_number(y), {}, {}});
        };
        if (const auto* graph = qobject_cast<const QCPGraph*>(plottable)) {
            for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
                point(it->key, it->value);
            }
        } else if (const auto* curve = qobject_cast<const QCPCurve*>(plottable)) {
            for (auto it = curve->data()->constBegin(); it != curve->data()->constEnd(); ++it) {
                point(it->key, it->value);
            }
        } else if (const auto* bars = qobject_cast<const QCPBars*>(plottable)) {
            for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
                point(it->key, it->value);
            }
        } else if (const auto* map = qobject_cast<const QCPColorMap*>(plottable)) {
            QCPColorMapData* cells = map->data();
            for (int j = 0; j < cells->valueSize(); ++j) {
                for (int i = 0; i < cells->keySize(); ++i) {
                    double x = 0;
                    double y = 0;
                    cells->cellToCoord(i, j, &x, &y);
                    csv += csv_line({series,
                                     role,
                                     run,
                                     csv_number(x),
                                     cell_label(*map, "x_labels", i, map->keyAxis(), x),
                                     csv_number(y),
                                     cell_label(*map, "y_labels", j, map->valueAxis(), y),
                                     csv_number(cells->cell(i, j))});
                }
            }
        }
    }
    return csv;
}

}  // namespace lowbit::ui
