// WorkspaceLayout: the view state a workspace keeps beside its database (the charts' state and
// the runs hidden from the charts) and its JSON text, format version 1 (docs/studio.md §Layouts
// and undo). Reading is strict: a value of the wrong type, a field this version does not know, a
// chart naming a scalar key the workspace never recorded or a value out of range makes the whole
// file corrupt, with a message naming the place; a newer version is reported as such, unread.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "charts/charts_state.h"

namespace lowbit::ui {

struct WorkspaceLayout {
    static constexpr int kVersion = 1;

    ChartsState charts;
    std::set<int64_t> hidden_runs;

    bool operator==(const WorkspaceLayout&) const = default;
};

struct LayoutParse {
    enum class Outcome { kLoaded, kNewerVersion, kCorrupt };

    Outcome outcome = Outcome::kCorrupt;
    WorkspaceLayout layout;  // the defaults unless loaded
    int version = 0;         // as the file says (kNewerVersion)
    std::string problem;     // what is wrong and where (kCorrupt)
};

std::string layout_to_json(const WorkspaceLayout& layout);
// known_keys: the scalar keys of the workspace; null skips that check.
LayoutParse parse_layout(std::string_view text, const std::set<std::string>* known_keys);

}  // namespace lowbit::ui
