// Groups of the compared runs for seed aggregation (docs/studio.md §Compare): by configuration
// (the recipe but its seed and name: lowbit_store's aggregate_over_seeds(), what `lowbit runs
// aggregate` prints), by sweep group, or by the value of any recipe key of the schema table.
#pragma once

#include "lowbit/store/run_aggregate.h"
#include "lowbit/store/run_reader.h"

#include <string>
#include <vector>

#include "compare/compare_runs.h"

namespace lowbit::ui {

// Grouping names besides recipe key paths.
inline constexpr const char* kGroupByConfiguration = "";
inline constexpr const char* kGroupBySweep = "@group";

// Groups ordered by their oldest run. For kGroupByConfiguration the groups and numbers are
// aggregate_over_seeds()'s; any other grouping counts and averages the same way: the final
// val/loss of completed runs, mean and sample sd (n - 1). The runs' results are those read with
// them (no second pass over their scalars).
std::vector<store::SeedAggregate> group_runs(const std::vector<CompareRun>& runs,
                                             const std::string& grouping);

}  // namespace lowbit::ui
