// LayoutController: the workspace layout's keeper. On opening a workspace it reads
// `<workspace>/studio-layout.json` (LayoutFile) and shows it on the charts and the run
// visibility, or the defaults with a message when the file is missing, newer or corrupt; after
// any change it saves the layout again, at most once per kSaveDelayMs. It owns the undo stack of
// view edits: the charts' edits (ChartsView::stateEdited) and the run visibility toggles
// (docs/studio.md §Layouts and undo). Nothing of it touches the workspace database.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

#include <memory>
#include <set>

#include "layout/layout_file.h"
#include "layout/workspace_layout.h"

class QUndoStack;

namespace lowbit::ui {

class ChartsView;
class RunsModel;

class LayoutController : public QObject {
    Q_OBJECT

public:
    static constexpr int kSaveDelayMs = 500;

    LayoutController(ChartsView* charts, RunsModel* runs, QObject* parent = nullptr);
    ~LayoutController() override;

    QUndoStack* undoStack() const {
        return undo_;
    }

    // Shows the workspace's saved layout (or the defaults) and empties the undo stack. The
    // scalar keys a chart may name are read from the workspace.
    void openWorkspace(const QString& root);
    WorkspaceLayout current() const;
    // The file of the open workspace (empty before one is opened).
    QString path() const;
    // Writes a pending save now (on closing).
    void saveNow();

Q_SIGNALS:
    // For the status bar: a corrupt or newer file, a failed save, a corrupt file set aside.
    void message(const QString& text);

private:
    void show(const WorkspaceLayout& layout);
    void showHiddenRuns(const std::set<int64_t>& hidden);
    void onVisibleRunsChanged();
    void scheduleSave();

    ChartsView* charts_;
    RunsModel* runs_;
    QUndoStack* undo_;
    QTimer save_timer_;
    std::unique_ptr<LayoutFile> file_;
    std::set<int64_t> hidden_;  // as last recorded, to tell a toggle from a new run
    bool showing_ = false;
};

}  // namespace lowbit::ui
