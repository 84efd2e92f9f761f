// RunContext: everything a training loop needs, built by create_run_context (a new run) or
// resume_run_context (continue from the latest verified checkpoint of an existing run).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/data/batch_sampler.h"
#include "lowbit/data/corpus.h"
#include "lowbit/data/token_shard.h"
#include "lowbit/dist/world.h"
#include "lowbit/model/language_model.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/checkpoint.h"
#include "lowbit/train/optimizer.h"
#include "lowbit/train/trainer.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

namespace lowbit::train {

struct RunContext {
    int64_t run_id = 0;
    config::Recipe recipe;
    std::filesystem::path run_dir;
    torch::Device device{torch::kCPU};
    data::PreparedData data;
    std::unique_ptr<data::TokenShard> train_shard;
    std::unique_ptr<data::TokenShard> val_shard;
    std::unique_ptr<data::BatchSampler> train_sampler;
    std::unique_ptr<data::BatchSampler> val_sampler;
    std::shared_ptr<model::LanguageModelImpl> model;
    std::unique_ptr<Optimizer> optimizer;  // AdamW or QuantizedAdamW (make_optimizer.h)
    int64_t start_step = 0;
    int64_t tokens_seen = 0;
    double wall_time_before = 0;  // training seconds spent before this process (resume)
    nlohmann::json tokenizer_info;
    std::filesystem::path tokenizer_model;  // "" for the byte tokenizer
    std::optional<double> entropy_floor;    // nats/token, builtin:markov only
    // Rows per forward and backward pass: train.rows_per_pass where it is set and below a rank's
    // share of the batch, else the whole share; it divides the share (docs/training.md §Passes).
    int rows_per_pass = 0;
    bool resumed = false;
    std::string resumed_from;         // resume: the checkpoint folder, workspace-relative
    std::filesystem::path init_from;  // new run: the checkpoint its weights came from, if any
    // fork: the parent run and its checkpoint folder (workspace-relative); start_step is the
    // fork step
    std::optional<int64_t> parent_run_id;
    std::string forked_from;
    nlohmann::json previous_summary = nlohmann::json::object();  // resume: the stored summary
    // resume, rank 0: the checkpoint's error-feedback memory of every rank (checkpoint.h)
    NamedTensors gradient_feedback;
};

// `world`: the job this process belongs to (a World of one process outside data parallelism);
// the optimizer shards its state across it when the recipe asks (make_optimizer.h).
RunContext create_run_context(const TrainRequest& request,
                              store::Workspace& workspace,
                              store::RunWriter& writer,
                              dist::World& world);
RunContext resume_run_context(const TrainRequest& request,
                              store::Workspace& workspace,
                              store::RunWriter& writer,
                              dist::World& world);
// A new run from request.fork_from's checkpoint with request.recipe: the parent's weights (the
// model shapes must match), its optimizer state converted to the recipe's state formats, its RNG
// state and data position (docs/quantized-pretraining.md §Forking a run).
RunContext fork_run_context(const TrainRequest& request,
                            store::Workspace& workspace,
                            store::RunWriter& writer,
                            dist::World& world);

// Data parallelism (docs/distributed.md §Start): rank 0 builds its context as above and posts
// run_handoff(run) (or its error) under kRunHandoffKey (dist/run_handoff.h); every other rank
// waits for it and builds the same components from the posted recipe, without touching the
// workspace database. Weights, optimizer state and RNG state then come from rank 0
// (replica_sync.h).
inline constexpr const char* kRunHandoffKey = "run";
nlohmann::json run_handoff(const RunContext& run);
RunContext follower_run_context(const TrainRequest& request, dist::World& world);

// RNG state of the default generators (CPU and, when present, CUDA) as named tensors.
NamedTensors capture_rng_state(const torch::Device& device);
void restore_rng_state(const NamedTensors& state, const torch::Device& device);

// Loads a checkpoint's model tensors into `model` (strict: names and shapes must match).
void load_checkpoint_weights(model::LanguageModelImpl& model,
                             const CheckpointContent& content,
                             const std::filesystem::path& checkpoint_dir);

// Resolves a checkpoint reference: a checkpoint folder, or a run id/name (its latest checkpoint).
// Returns the folder and the manifest checksum recorded in the store (if any).
std::pair<std::filesystem::path, std::optional<std::string>> resolve_checkpoint(
    const store::Workspace& workspace, const std::string& reference);

}  // namespace lowbit::train
