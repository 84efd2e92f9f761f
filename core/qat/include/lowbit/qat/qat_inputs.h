// What a `lowbit qat` run works on, loaded and checked before the run is recorded
// (docs/efficientqat.md §Run record): the source model and its tokenizer, the calibration windows
// of Block-AP, the training windows of E2E-QP and the corpora scored at the end. Every problem
// is a util::BadInput naming the recipe key, the file or the layer, so a refused command leaves
// the workspace as it was.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/checkpoint_model.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lowbit::qat {

struct EvalCorpus {
    std::string name;  // the scalar key stem: "val" for the source run's split, else the file stem
    std::filesystem::path path;
    std::vector<int64_t> tokens;
};

struct QatInputs {
    train::LoadedModel source;        // CPU, eval mode, full precision
    std::string source_label;         // "run 3 (llama-8m)" or the checkpoint folder
    torch::Tensor calibration_train;  // (block_ap.samples, block_ap.seq_len) int64
    torch::Tensor calibration_val;    // (block_ap.val_samples, block_ap.seq_len) int64
    torch::Tensor e2e_windows;  // (e2e_qp.samples, e2e_qp.seq_len + 1) int64; undefined: no E2E-QP
    std::vector<EvalCorpus> eval;
};

// Whether the recipe's method trains E2E-QP after Block-AP.
bool runs_e2e_qp(const config::QatSpec& qat);

// `samples` windows of `length` tokens from `tokens`, cut without overlap and drawn in an order
// fixed by `seed`: (samples, length) int64. Throws util::BadInput naming `what` when the tokens
// hold fewer such windows.
torch::Tensor draw_windows(const std::vector<int64_t>& tokens,
                           int64_t length,
                           int64_t samples,
                           uint64_t seed,
                           const std::string& what);

// Loads the source (a run id or name in `workspace`, a checkpoint folder, or an imported model's
// run) and every corpus, and checks that the bits and group size fit every block Linear and the
// windows fit the model's context.
QatInputs prepare_qat_inputs(const config::Recipe& recipe, const std::filesystem::path& workspace);

}  // namespace lowbit::qat
