// resolve_fork_point (see fork_point.h).
#include "lowbit/train/fork_point.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/util/exit_codes.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>

namespace lowbit::train {

namespace {

bool all_digits(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isdigit(c) != 0;
    });
}

std::string describe(const store::RunRecord& run) {
    return "run " + std::to_string(run.id) + " ('" + run.name + "')";
}

}  // namespace

ForkPoint resolve_fork_point(const store::Workspace& workspace, const std::string& reference) {
    const store::RunReader reader(workspace);
    // A run name may itself contain '@': the whole reference is tried as a run first.
    std::optional<store::RunRecord> parent = reader.find_run(reference);
    std::optional<int64_t> step;
    if (!parent) {
        const auto at = reference.rfind('@');
        if (at != std::string::npos && all_digits(reference.substr(at + 1))) {
            parent = reader.find_run(reference.substr(0, at));
            step = std::stoll(reference.substr(at + 1));
        }
    }
    if (!parent) {
        throw util::BadInput("--fork: no run '" + reference + "' in " +
                             workspace.database_path().string() + " (expected RUN or RUN@STEP)");
    }
    if (parent->kind != "train") {
        throw util::BadInput("--fork: " + describe(*parent) + " is a '" + parent->kind +
                             "' run; only training runs can be forked");
    }
    const std::vector<store::FileRecord> checkpoints = reader.checkpoints(parent->id);
    if (checkpoints.empty()) {
        throw util::BadInput("--fork: " + describe(*parent) +
                             " has no checkpoint to fork from (train.checkpoint_every sets how "
                             "often a run writes one)");
    }
    ForkPoint fork;
    fork.parent = *parent;
    if (!step) {
        fork.checkpoint = checkpoints.back();
    } else {
        const auto found =
            std::find_if(checkpoints.begin(), checkpoints.end(), [&](const store::FileRecord& c) {
                return c.step == *step;
            });
        if (found == checkpoints.end()) {
            std::string steps;
            for (const auto& c : checkpoints) {
                steps += (steps.empty() ? "" : ", ") + std::to_string(c.step);
            }
            throw util::BadInput("--fork: " + describe(*parent) + " has no checkpoint at step " +
                                 std::to_string(*step) + "; its checkpoints are at steps " + steps);
        }
        fork.checkpoint = *found;
    }
    fork.step = fork.checkpoint.step;
    return fork;
}

config::Recipe parent_recipe(const ForkPoint& fork) {
    try {
        return config::recipe_from_json(nlohmann::json::parse(fork.parent.recipe_json));
    } catch (const std::exception& e) {
        throw util::BadInput("--fork: the stored recipe of " + describe(fork.parent) +
                             " cannot be read (" + e.what() + ")");
    }
}

}  // namespace lowbit::train
