// The trade-off explorer's data (docs/studio.md §Trade-off explorer): per run, its final
// validation loss against what its recipe costs (effective weight bits per parameter or the
// training memory of weights and AdamW state), the bit-width of one tensor kind as a colour key,
// and the Pareto front of those points. Runs that cannot be placed are listed with a reason.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_results.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

enum class TradeoffX { kBitsPerParameter, kMemoryMegabytes };
enum class TradeoffY { kValLoss, kPerplexity };
// The tensor kinds a recipe quantizes, named as the recipe's quant fields.
enum class TensorKind { kWeight, kActivation, kGradOutput, kOptimM, kOptimV };

inline constexpr const char* kTradeoffLossKey = "val/loss";

// The bits the recipe gives `kind`; 32 when that quantizer is off.
int kind_bits(const config::Recipe& recipe, TensorKind kind);
// "W8", "A4", "G32"... the legend name of a bit-width of `kind` ("fp32" when off).
std::string kind_bits_label(TensorKind kind, int bits);

// What one run contributes, every axis at once so switching axes needs no new read.
struct TradeoffRun {
    int64_t run_id = 0;
    std::string name;
    double final_val_loss = 0;
    double bits_per_parameter = 0;  // stored weight bits over the parameter count
    int64_t memory_bytes = 0;       // weights + AdamW m and v as stored
    config::Recipe recipe;
};

struct SkippedRun {
    int64_t run_id = 0;
    std::string name;
    std::string reason;
};

struct TradeoffRuns {
    std::vector<TradeoffRun> runs;
    std::vector<SkippedRun> skipped;
};

// One run from its record and results; empty with `reason` set when it has no final finite
// val/loss or its recipe does not parse.
std::optional<TradeoffRun> tradeoff_run(const store::RunRecord& record,
                                        const store::RunResults& results,
                                        std::string& reason);
// Every run of the workspace, newest first as the reader lists them.
TradeoffRuns read_tradeoff_runs(const store::RunReader& reader);

struct TradeoffPoint {
    int64_t run_id = 0;
    std::string name;
    double x = 0;
    double y = 0;
    int colour_bits = 32;
};

TradeoffPoint tradeoff_point(const TradeoffRun& run, TradeoffX x, TradeoffY y, TensorKind colour);

// The points no other point dominates (another is no worse in x and y and better in one; lower
// is better on both), sorted by x then y. Points at the same place are all kept.
std::vector<TradeoffPoint> pareto_front(const std::vector<TradeoffPoint>& points);

}  // namespace lowbit::ui
