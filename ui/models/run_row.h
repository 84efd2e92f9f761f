// RunRow: everything the run browser shows of one run, read in the workspace worker's thread:
// the stored record, the status as observed (a running run whose process is gone is killed:
// lowbit/store/run_liveness.h) and results derived from its scalars (lowbit/store/run_results.h,
// the one source of final and best metrics).
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/run_liveness.h"
#include "lowbit/store/run_reader.h"

#include <QMetaType>

#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

struct RunRow {
    store::RunRecord record;
    store::RunStatus observed = store::RunStatus::kCreated;
    std::string bits;         // recipe_bits_label()
    int64_t steps_total = 0;  // the recipe's train.steps
    int64_t steps_done = 0;   // the highest step with a recorded scalar
    std::optional<double> last_val_loss;
    std::optional<double> best_val_loss;
    std::optional<int64_t> tokens_seen;
    std::optional<double> entropy_floor;  // builtin:markov: the lowest achievable loss
    double duration_s = 0;                // first start to end (or to the last heartbeat)
};

// Every run of the workspace, newest first. `previous` rows whose stored status is terminal and
// unchanged are reused instead of re-deriving their results.
std::vector<RunRow> read_run_rows(const store::RunReader& reader,
                                  const store::LivenessCheck& check,
                                  const std::vector<RunRow>& previous = {});

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(std::vector<lowbit::ui::RunRow>)
