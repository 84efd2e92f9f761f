// The results of a run, derived from its scalars and events: the one source of final and best
// metrics for `lowbit runs list|show|aggregate`, `lowbit train`'s closing line and the studio.
// Nothing here is read from runs.summary_json, which keeps only facts the scalars cannot give.
#pragma once

#include "lowbit/store/run_reader.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace lowbit::store {

struct MetricAt {
    int64_t step = 0;
    double value = 0;  // NaN when the last value recorded was not finite
};

struct RunResults {
    std::map<std::string, MetricAt> final;    // every scalar key: its value at the highest step
    std::map<std::string, MetricAt> best;     // keys where lower is better: the smallest value
    std::optional<int64_t> diverged_at_step;  // the step of the run's `diverged` event

    std::optional<double> final_value(const std::string& key) const;
    std::optional<double> best_value(const std::string& key) const;
};

// Losses and perplexities: the keys whose best value is their minimum.
bool lower_is_better(const std::string& key);

RunResults run_results(const RunReader& reader, int64_t run_id);

}  // namespace lowbit::store
