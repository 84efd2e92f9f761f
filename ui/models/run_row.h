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
    int64_t steps_total = 0;  // the recipe's train.steps; a qat run's from its summary; 0: unknown
    int64_t steps_done = 0;   // the highest step with a recorded scalar
    std::optional<double> last_val_loss;
    std::optional<double> best_val_loss;
    std::optional<int64_t> tokens_seen;
    std::optional<double> entropy_floor;    // builtin:markov: the lowest achievable loss
    std::vector<int64_t> checkpoint_steps;  // recorded checkpoints, by step (a fork starts at one)
    double duration_s = 0;                  // first start to end (or to the last heartbeat)
    double results_read_at = 0;             // the check's time when the results were derived
};

// Every run of the workspace, newest first. The results of `previous` rows are reused instead of
// derived again when the stored status is terminal and unchanged, or when the status is unchanged
// and they are younger than `results_refresh_s` seconds: deriving them is one pass over the run's
// scalars, which for a long live run costs far more than the rest of a poll.
std::vector<RunRow> read_run_rows(const store::RunReader& reader,
                                  const store::LivenessCheck& check,
                                  const std::vector<RunRow>& previous = {},
                                  double results_refresh_s = 0);

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(std::vector<lowbit::ui::RunRow>)
