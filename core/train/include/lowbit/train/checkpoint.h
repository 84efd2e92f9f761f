// Checkpoints: a folder runs/<id>/checkpoints/step-NNNNNNN/ holding model.safetensors,
// optimizer.safetensors (AdamW m, v, step), rng.safetensors (generator states), state.json (step,
// tokens seen, model config, tokenizer), for SentencePiece tokenizer.model, and for a
// data-parallel run with error feedback gradient_feedback.safetensors (every rank's memory).
// manifest.json lists every file with its size and SHA-256; the manifest's own SHA-256 is recorded
// in the store. Writing is atomic: everything goes to a temporary folder, is fsynced, then renamed
// into place, so a crash leaves either a complete checkpoint or none.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::train {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct CheckpointContent {
    int64_t step = 0;         // optimizer steps completed
    int64_t tokens_seen = 0;  // training tokens consumed so far
    double wall_time = 0;     // seconds of training so far (excluding earlier crashes)
    nlohmann::json model_config;
    nlohmann::json tokenizer;  // {"kind": "byte"|"sentencepiece", "vocab_size": N, "model": file}
    nlohmann::json extra;      // free-form (best val loss so far, ...)
    NamedTensors model;
    NamedTensors optimizer;  // empty for weights-only checkpoints (imports)
    NamedTensors rng;
    // Data-parallel runs with error feedback: "rank<r>.<memory>" (gradient_feedback_state.h).
    NamedTensors gradient_feedback;
};

struct WrittenCheckpoint {
    std::filesystem::path dir;
    int64_t bytes = 0;
    std::string manifest_sha256;
};

std::filesystem::path checkpoint_dir_name(const std::filesystem::path& run_dir, int64_t step);

// `tokenizer_model_source`: file copied in as tokenizer.model when non-empty.
WrittenCheckpoint write_checkpoint(const std::filesystem::path& final_dir,
                                   const CheckpointContent& content,
                                   const std::filesystem::path& tokenizer_model_source = {});

// Verifies the manifest (sizes and SHA-256 of every file; the manifest's own SHA-256 against
// `expected_manifest_sha256` when given) before parsing anything. A truncated or corrupt
// checkpoint throws util::BadInput naming the folder, the file and what disagrees.
CheckpointContent read_checkpoint(const std::filesystem::path& dir,
                                  const std::optional<std::string>& expected_manifest_sha256 = {},
                                  bool load_optimizer = true);

}  // namespace lowbit::train
