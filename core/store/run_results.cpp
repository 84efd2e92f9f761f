// run_results(): final and best metrics from the scalars table (RunReader::scalar_summaries, one
// SQL pass per run) and the divergence step from the events table.
#include "lowbit/store/run_results.h"

namespace lowbit::store {

namespace {

std::optional<double> value_of(const std::map<std::string, MetricAt>& metrics,
                               const std::string& key) {
    const auto it = metrics.find(key);
    return it == metrics.end() ? std::nullopt : std::optional<double>(it->second.value);
}

}  // namespace

std::optional<double> RunResults::final_value(const std::string& key) const {
    return value_of(final, key);
}

std::optional<double> RunResults::best_value(const std::string& key) const {
    return value_of(best, key);
}

bool lower_is_better(const std::string& key) {
    return key.find("loss") != std::string::npos || key.find("ppl") != std::string::npos;
}

RunResults run_results(const RunReader& reader, int64_t run_id) {
    RunResults results;
    for (const ScalarSummary& summary : reader.scalar_summaries(run_id)) {
        results.final[summary.key] = {summary.last_step, summary.last_value};
        if (lower_is_better(summary.key) && summary.min_step) {
            results.best[summary.key] = {*summary.min_step, summary.min_value};
        }
    }
    for (const EventRecord& event : reader.events(run_id)) {
        if (event.kind == "diverged") {
            results.diverged_at_step = event.step;
            break;
        }
    }
    return results;
}

}  // namespace lowbit::store
