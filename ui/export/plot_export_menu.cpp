#include "export/plot_export_menu.h"

#include <QDir>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>

#include "charts/qcustomplot_include.h"
#include "export/plot_export.h"

namespace lowbit::ui {

namespace {

// "train/loss" → "train-loss": a name a file system takes.
QString file_stem(const QString& name) {
    QString stem = name;
    stem.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]+")), QStringLiteral("-"));
    return stem.isEmpty() ? QStringLiteral("plot") : stem;
}

void export_with_dialog(QCustomPlot* plot,
                        const QString& name,
                        const QString& title,
                        const QString& suffix,
                        const QString& filter,
                        const std::function<QString(const QString&)>& write) {
    const QString path = QFileDialog::getSaveFileName(
        plot, title, QDir::home().filePath(file_stem(name) + suffix), filter);
    if (path.isEmpty()) {
        return;
    }
    const QString error = write(path);
    if (!error.isEmpty()) {
        QMessageBox::warning(plot, title, error);
    }
}

}  // namespace

void install_plot_export_menu(QCustomPlot* plot, const QString& name, PlotCsvSource csv) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(
        plot, &QWidget::customContextMenuRequested, plot, [plot, name, csv](const QPoint& at) {
            QMenu menu(plot);
            const QString png = QObject::tr("PNG image (*.png)");
            menu.addAction(QObject::tr("Export PNG…"), plot, [plot, name, png] {
                export_with_dialog(
                    plot,
                    name,
                    QObject::tr("Export PNG"),
                    QStringLiteral(".png"),
                    png,
                    [plot](const QString& path) { return export_plot_png(*plot, path, 1.0); });
            });
            menu.addAction(QObject::tr("Export PNG 2×…"), plot, [plot, name, png] {
                export_with_dialog(
                    plot,
                    name,
                    QObject::tr("Export PNG 2×"),
                    QStringLiteral("@2x.png"),
                    png,
                    [plot](const QString& path) { return export_plot_png(*plot, path, 2.0); });
            });
            menu.addAction(QObject::tr("Export PDF…"), plot, [plot, name] {
                export_with_dialog(
                    plot,
                    name,
                    QObject::tr("Export PDF"),
                    QStringLiteral(".pdf"),
                    QObject::tr("PDF document (*.pdf)"),
                    [plot](const QString& path) { return export_plot_pdf(*plot, path); });
            });
            menu.addAction(QObject::tr("Export CSV…"), plot, [plot, name, csv] {
                export_with_dialog(plot,
                                   name,
                                   QObject::tr("Export CSV"),
                                   QStringLiteral(".csv"),
                                   QObject::tr("CSV table (*.csv)"),
                                   [plot, csv](const QString& path) {
                                       return export_csv(csv ? csv() : plot_csv(*plot), path);
                                   });
            });
            menu.exec(plot->mapToGlobal(at));
        });
}

}  // namespace lowbit::ui
