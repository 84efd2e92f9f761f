// Telemetry of a demo run: for every linear of a two-block model and each tensor kind (W, A, G,
// m, v) one statistics row and two histograms per telemetry step, computed from sampled values
// the way the engine records them (docs/quantized-pretraining.md §Telemetry, §Histograms,
// §Statistics): W, A and G quantized per row, symmetric on the reference grid, when the demo run
// has `bits` <= 8 (grid histograms), everything else in full precision (log2 histograms).
#pragma once

#include "lowbit/store/run_writer.h"

#include <cstdint>
#include <random>

namespace lowbit::ui {

void write_demo_telemetry(store::RunWriter& writer,
                          int64_t run_id,
                          int64_t step,
                          double progress,  // 0..1 through the run
                          int bits,
                          std::mt19937& rng);

}  // namespace lowbit::ui
