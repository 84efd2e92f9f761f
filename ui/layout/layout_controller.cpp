#include "layout/layout_controller.h"

#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <QUndoStack>
#include <QtDebug>

#include <exception>
#include <optional>

#include "charts/charts_view.h"
#include "layout/view_edit_command.h"
#include "models/runs_model.h"

namespace lowbit::ui {

namespace {

// The scalar keys any run of the workspace recorded; nullopt when it cannot be read.
std::optional<std::set<std::string>> workspace_scalar_keys(const QString& root) {
    try {
        store::Workspace workspace = store::open_for_reading(root.toStdString());
        const store::RunReader reader(workspace);
        std::set<std::string> keys;
        for (const auto& run : reader.list_runs()) {
            for (auto& key : reader.scalar_keys(run.id)) {
                keys.insert(std::move(key));
            }
        }
        return keys;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace

LayoutController::LayoutController(ChartsView* charts, RunsModel* runs, QObject* parent)
    : QObject(parent), charts_(charts), runs_(runs), undo_(new QUndoStack(this)) {
    save_timer_.setSingleShot(true);
    save_timer_.setInterval(kSaveDelayMs);
    connect(&save_timer_, &QTimer::timeout, this, &LayoutController::saveNow);
    connect(charts_,
            &ChartsView::stateEdited,
            this,
            [this](const QString& text,
                   int merge_id,
                   const ChartsState& before,
                   const ChartsState& after) {
                undo_->push(new ViewEditCommand<ChartsState>(
                    text, merge_id, before, after, [this](const ChartsState& state) {
                        showing_ = true;
                        charts_->applyState(state, ChartsView::RangePolicy::kKeepCurrent);
                        showing_ = false;
                        scheduleSave();
                    }));
            });
    connect(charts_, &ChartsView::stateChanged, this, [this] {
        if (!showing_) {
            scheduleSave();
        }
    });
    connect(runs_, &RunsModel::visibleRunsChanged, this, &LayoutController::onVisibleRunsChanged);
    hidden_ = runs_->hiddenRuns();
}

LayoutController::~LayoutController() = default;

QString LayoutController::path() const {
    return file_ ? file_->path() : QString();
}

WorkspaceLayout LayoutController::current() const {
    return {charts_->state(), runs_->hiddenRuns()};
}

void LayoutController::openWorkspace(const QString& root) {
    saveNow();  // the previous workspace's pending change
    file_ = std::make_unique<LayoutFile>(root);
    const auto keys = workspace_scalar_keys(root);
    const LayoutFile::Read read = file_->read(keys ? &*keys : nullptr);
    show(read.layout);
    undo_->clear();
    save_timer_.stop();  // what was just read needs no saving
    if (!read.message.isEmpty()) {
        qWarning().noquote() << read.message;
        Q_EMIT message(read.message);
    }
}

void LayoutController::show(const WorkspaceLayout& layout) {
    showing_ = true;
    charts_->applyState(layout.charts, ChartsView::RangePolicy::kApply);
    showing_ = false;
    showHiddenRuns(layout.hidden_runs);
}

void LayoutController::showHiddenRuns(const std::set<int64_t>& hidden) {
    showing_ = true;
    const std::set<int64_t> now = runs_->hiddenRuns();
    for (int64_t id : now) {
        if (!hidden.count(id)) {
            runs_->setVisible(id, true);
        }
    }
    for (int64_t id : hidden) {
        runs_->setVisible(id, false);
    }
    hidden_ = hidden;
    showing_ = false;
}

void LayoutController::onVisibleRunsChanged() {
    const std::set<int64_t> now = runs_->hiddenRuns();
    if (showing_ || now == hidden_) {
        return;  // an undo, a restore, or a new run arriving visible
    }
    const std::set<int64_t> before = hidden_;
    hidden_ = now;
    undo_->push(new ViewEditCommand<std::set<int64_t>>(
        tr("Run Visibility"), -1, before, now, [this](const std::set<int64_t>& hidden) {
            showHiddenRuns(hidden);
            scheduleSave();
        }));
    scheduleSave();
}

void LayoutController::scheduleSave() {
    if (file_ && file_->mayWrite()) {
        save_timer_.start();
    }
}

void LayoutController::saveNow() {
    if (!file_ || !save_timer_.isActive()) {
        return;
    }
    save_timer_.stop();
    QString error;
    QString notice;
    if (!file_->save(current(), &error, &notice)) {
        qWarning().noquote() << error;
        Q_EMIT message(error);
    } else if (!notice.isEmpty()) {
        Q_EMIT message(notice);
    }
}

}  // namespace lowbit::ui
