#include "report/report_action.h"

#include <QApplication>
#include <QDir>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>

#include "report/run_report.h"

namespace lowbit::ui {

void add_export_report_action(QMenu* menu,
                              QWidget* window,
                              std::function<QString()> workspace,
                              std::function<QList<qint64>()> selected_runs) {
    QAction* action = menu->addAction(QObject::tr("Export &Report…"));
    action->setToolTip(QObject::tr("A PDF report of the runs selected in the runs table"));
    QObject::connect(action, &QAction::triggered, window, [window, workspace, selected_runs] {
        const QString title = QObject::tr("Export report");
        const QList<qint64> runs = selected_runs();
        if (workspace().isEmpty() || runs.isEmpty()) {
            QMessageBox::information(
                window, title, QObject::tr("Select the runs to report in the runs table first."));
            return;
        }
        const QString out =
            QFileDialog::getSaveFileName(window,
                                         title,
                                         QDir::home().filePath(QStringLiteral("lowbit-report.pdf")),
                                         QObject::tr("PDF document (*.pdf)"));
        if (out.isEmpty()) {
            return;
        }
        ReportRequest request;
        request.workspace = workspace();
        request.out = out;
        for (qint64 id : runs) {
            request.runs << QString::number(id);
        }
        QString error;
        QApplication::setOverrideCursor(Qt::WaitCursor);
        const int code = write_report(request, error);
        QApplication::restoreOverrideCursor();
        if (code != 0) {
            QMessageBox::warning(window, title, error);
        }
    });
}

}  // namespace lowbit::ui
