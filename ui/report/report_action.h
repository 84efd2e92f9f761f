// File → Export report…: the report of the runs selected in the runs table, to a PDF chosen in a
// save dialog (docs/studio.md §Export and reports).
#pragma once

#include <QList>
#include <QString>

#include <functional>

class QMenu;
class QWidget;

namespace lowbit::ui {

void add_export_report_action(QMenu* menu,
                              QWidget* window,
                              std::function<QString()> workspace,
                              std::function<QList<qint64>()> selected_runs);

}  // namespace lowbit::ui
