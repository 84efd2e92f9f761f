// The phase view's data (docs/studio.md §EfficientQAT): what a `qat` run has recorded so far, on
// the run's one step counter (Block-AP steps block after block, then E2E-QP steps): the Block-AP
// rows as a block x epoch grid of reconstruction losses, each finished block's time and peak
// memory, the E2E-QP training loss, and where each phase began. Read again while the run is live;
// the rows only grow.
#pragma once

#include "lowbit/store/run_reader.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

struct QatPhaseMarker {
    int64_t step = 0;
    std::string name;  // "block_ap", "e2e_qp", "eval"
};

struct QatBlockTime {
    int64_t block = 0;
    int64_t step = 0;    // the run's step when the block was finished
    double seconds = 0;  // from the previous block's end (or the phase's start) to this one's
    std::optional<int64_t> peak_memory_bytes;  // the largest of its epochs (none: no epoch rows)
};

struct QatPhaseData {
    int64_t run_id = 0;
    std::string method;  // as qat_method_label names it
    int bits = 0;
    int group_size = 0;
    int64_t blocks = 0;  // of the model (0 until the block_ap phase began)
    int ranks = 1;       // data-parallel ranks that last ran it (the summary's world_size)
    int epochs = 0;      // per block, from the recipe (0: RTN and GPTQ train none)
    store::RunStatus status = store::RunStatus::kCreated;

    // The run is still being written.
    bool live() const {
        return status == store::RunStatus::kRunning || status == store::RunStatus::kCreated;
    }

    std::vector<store::BlockApRecord> epoch_rows;      // by block, then epoch
    std::vector<QatBlockTime> finished;                // by block
    std::vector<std::pair<int64_t, double>> e2e_loss;  // (step, train/loss)
    std::vector<QatPhaseMarker> phases;

    // The grid's value at (block, epoch 1-based), training or validation MSE; none when that
    // epoch is not recorded yet or its loss was not finite.
    std::optional<double> loss_at(int64_t block, int epoch, bool validation) const;
};

// Everything `run_id` recorded; an empty result (run_id 0) when the run does not exist.
QatPhaseData read_qat_phase(const store::RunReader& reader, int64_t run_id);

}  // namespace lowbit::ui
