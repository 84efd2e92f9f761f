// What the compare view knows of each run it compares, read in one pass: the stored record, its
// recipe (or why it cannot be read) and its results from lowbit_store's run_results(), the one
// source of final and best metrics.
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_results.h"

#include <cstdint>
#include <string>
#include <vector>

#include "compare/config_diff.h"
#include "compare/group_curves.h"

namespace lowbit::ui {

struct CompareRun {
    store::RunRecord record;
    RecipeColumn recipe;
    store::RunResults results;
};

// The runs of `run_ids` that exist, in that order.
std::vector<CompareRun> read_compare_runs(const store::RunReader& reader,
                                          const std::vector<int64_t>& run_ids);

}  // namespace lowbit::ui
