// `lowbit train`: trains a language model from a recipe and records the run in a workspace.
// Creates a new run, resumes one from its latest checkpoint with results identical to an
// uninterrupted run (same seed, same batches, restored optimizer and RNG state), or forks a new
// run from a checkpoint of another with a changed recipe (new bit-widths).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/dist/launch_environment.h"
#include "lowbit/store/records.h"
#include "lowbit/train/progress.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::train {

struct TrainRequest {
    std::filesystem::path workspace_root;
    config::Recipe recipe;   // ignored when resuming (the run's stored recipe is used)
    std::string resume_run;  // run id or name; empty: start a new run
    std::string init_from;   // checkpoint folder, or run id/name (its latest checkpoint)
    // RUN or RUN@STEP: a new run that continues from that checkpoint of RUN with `recipe`
    // (fork_point.h; docs/quantized-pretraining.md §Forking a run).
    std::string fork_from;
    std::string name;    // run name; empty: recipe.name
    std::string tags;    // comma separated
    std::string group;   // sweeps group their runs
    std::string device;  // overrides train.device when not empty: auto|cpu|cuda
    // Data parallelism (docs/distributed.md): this process's rank in the job; a single process
    // by default. Every collective gives up after collective_timeout.
    dist::LaunchEnvironment launch;
    std::chrono::milliseconds collective_timeout{std::chrono::minutes(5)};
};

struct TrainOutcome {
    int64_t run_id = 0;
    store::RunStatus status = store::RunStatus::kCreated;
    int exit_code = 0;  // util::kExit*
    std::filesystem::path run_dir;
    nlohmann::json summary;  // as stored: the facts the scalars cannot give
};

// Throws util::BadInput (exit 2) for bad input and std::exception for runtime failures; in both
// cases a run already created is marked failed with an event naming the error.
// Every run event is delivered to `progress` as well as to the workspace recorder. In a
// data-parallel job every rank calls this; rank 0 alone records the run and writes checkpoints.
TrainOutcome run_training(const TrainRequest& request, events::RunEventSink& progress);

}  // namespace lowbit::train
