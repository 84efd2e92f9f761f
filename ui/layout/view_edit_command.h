// ViewEditCommand: one undoable view edit, held as the state before and after it; undo shows the
// one, redo the other (docs/studio.md §Layouts and undo). Charts edits hold a ChartsState, run
// visibility toggles the set of hidden runs. Edits with the same merge id (consecutive smoothing
// changes) become one step: the merged command keeps the first before and the last after.
#pragma once

#include <QUndoCommand>

#include <functional>
#include <utility>

namespace lowbit::ui {

template <typename State>
class ViewEditCommand : public QUndoCommand {
public:
    using Show = std::function<void(const State&)>;

    ViewEditCommand(const QString& text, int merge_id, State before, State after, Show show)
        : QUndoCommand(text),
          merge_id_(merge_id),
          before_(std::move(before)),
          after_(std::move(after)),
          show_(std::move(show)) {}

    void undo() override {
        show_(before_);
    }

    // Also runs when pushed, with `after` already shown: showing it again changes nothing.
    void redo() override {
        show_(after_);
    }

    int id() const override {
        return merge_id_;
    }

    bool mergeWith(const QUndoCommand* other) override {
        const auto* same = dynamic_cast<const ViewEditCommand*>(other);
        if (!same || merge_id_ < 0 || same->merge_id_ != merge_id_) {
            return false;
        }
        after_ = same->after_;
        setObsolete(before_ == after_);  // moved back to where it started: no step at all
        return true;
    }

    const State& before() const {
        return before_;
    }

    const State& after() const {
        return after_;
    }

private:
    int merge_id_;
    State before_;
    State after_;
    Show show_;
};

}  // namespace lowbit::ui
