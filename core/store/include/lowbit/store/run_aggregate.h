// Mean ± sd across seeds: runs whose recipes are identical except for `seed` (and `name`) form
// one configuration, e.g. the three seeds of each preset of a sweep. Used by
// `lowbit runs aggregate` and the GUI's comparison view (torch-free).
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_results.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::store {

struct SeedAggregate {
    std::string label;  // the first run's name with its "seed=N" assignment removed
    std::vector<int64_t> run_ids;
    std::vector<uint64_t> seeds;
    int completed = 0;
    int diverged = 0;
    int other = 0;  // running, stopped, failed, killed, created
    // Over completed runs that recorded a final val/loss; sd is the sample standard deviation
    // (n - 1), empty with fewer than two values.
    int with_val_loss = 0;
    std::optional<double> mean_val_loss;
    std::optional<double> sd_val_loss;
    std::optional<int64_t> earliest_divergence_step;  // the runs' `diverged` events
};

// What makes a run's configuration: its stored recipe without `seed` and `name` (a recipe that
// does not parse is its own configuration).
std::string configuration_key(const RunRecord& run);

// Groups `runs` (any order) into configurations, ordered by each configuration's oldest run.
// Final val/loss and divergence steps come from run_results() (the scalars and events).
std::vector<SeedAggregate> aggregate_over_seeds(const RunReader& reader,
                                                const std::vector<RunRecord>& runs);
// The same with the runs' results already at hand (`results_of(run id)`), e.g. the studio's
// compare view, which has read them for its tables: deriving results is a pass over a run's
// scalars.
std::vector<SeedAggregate> aggregate_over_seeds(
    const std::vector<RunRecord>& runs,
    const std::function<RunResults(int64_t run_id)>& results_of);

// Aligned text table, or a Markdown table when `markdown`: configuration, runs, diverged,
// final val/loss mean ± sd.
std::string format_seed_table(const std::vector<SeedAggregate>& aggregates, bool markdown);

}  // namespace lowbit::store
