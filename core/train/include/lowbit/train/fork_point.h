// Where a fork starts (docs/quantized-pretraining.md §Forking a run): a training run of the
// workspace and one of its recorded checkpoints, named on the command line as RUN or RUN@STEP
// (RUN: an id or a name; no @STEP: the run's latest checkpoint).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/store/records.h"
#include "lowbit/store/workspace.h"

#include <cstdint>
#include <string>

namespace lowbit::train {

struct ForkPoint {
    store::RunRecord parent;
    store::FileRecord checkpoint;  // the parent's checkpoint the fork starts from
    int64_t step = 0;              // optimizer steps the parent had completed there
};

// Throws util::BadInput naming the run and the workspace for an unknown run, a run that is not a
// training run, a run without checkpoints, or a step with no checkpoint (listing those there are).
ForkPoint resolve_fork_point(const store::Workspace& workspace, const std::string& reference);

// The parent's stored recipe (the starting point of the fork's recipe).
config::Recipe parent_recipe(const ForkPoint& fork);

}  // namespace lowbit::train
