// The EfficientQAT results table's data (docs/studio.md §EfficientQAT): for one source model, its
// full-precision row and one row per `qat` run made from it, with the final perplexity on every
// corpus either was scored on (eval/<corpus>/ppl scalars: the engine's after quantizing, `lowbit
// eval`'s on the source), bits per weight, packed size, time and peak memory. Read from the
// workspace alone, so a run another process is writing appears when it records its results.
#pragma once

#include "lowbit/store/run_reader.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

struct QatResultRow {
    int64_t run_id = 0;
    std::string name;
    std::string method;  // "FP", "RTN", "GPTQ", "Block-AP", "Block-AP + E2E-QP"
    int bits = 32;       // 32 for the FP row
    int group_size = 0;  // 0 for the FP row
    std::string status;  // the run's ("completed", "running", ...)
    std::map<std::string, double> perplexity;  // corpus -> final eval/<corpus>/ppl
    std::optional<double> bits_per_weight;     // of the block linears, as packed
    std::optional<int64_t> packed_bytes;       // the block linears' bytes (FP: as fp32)
    std::optional<int64_t> model_bytes;        // the packed model file
    std::optional<double>
        seconds;  // the run's wall time (the source's: its training, start to end)
    std::optional<int64_t> peak_rss_bytes;
};

struct QatResults {
    int64_t source_run_id = 0;
    std::string source_name;
    std::vector<std::string> corpora;  // every corpus of any row: "val" first, then by name
    std::vector<QatResultRow> rows;    // FP, then by bits (most first), group size, method
};

// The method as a results row names it, from a qat run's stored recipe (JSON): efficientqat
// without an E2E-QP epoch is "Block-AP". Empty when the recipe does not read.
std::string qat_method_label(const std::string& recipe_json);

// The runs that `qat` runs were made from, newest first: (run id, name).
std::vector<std::pair<int64_t, std::string>> qat_sources(const store::RunReader& reader);

// The table of `source_run_id`; rows of runs that are no longer in the workspace are absent.
QatResults read_qat_results(const store::RunReader& reader, int64_t source_run_id);

}  // namespace lowbit::ui
