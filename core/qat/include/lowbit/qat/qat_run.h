// `lowbit qat`: quantizes a trained model with EfficientQAT (Block-AP, then E2E-QP) or with the
// RTN or GPTQ baseline on the same grid, and records the run in the workspace
// (docs/efficientqat.md §Run record): its blocks, phases, packed model and perplexities. A
// stopped or killed run resumes at block granularity: a finished block is installed from its
// file, never trained again.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/dist/launch_environment.h"
#include "lowbit/events/run_event_stream.h"
#include "lowbit/store/records.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::qat {

struct QatRequest {
    std::filesystem::path workspace_root;
    config::Recipe recipe;   // ignored when resuming (the run's stored recipe is used)
    std::string resume_run;  // run id or name; empty: a new run
    std::string name;        // run name; empty: the recipe's name, else source-method-wNgG
    std::string tags;        // comma separated
    std::string group;
    std::string device;  // auto|cpu|cuda; empty: the recipe's train.device
    // Where this process sits in a data-parallel run (a single process by default), and how long
    // a rank waits for the others in a collective before it fails.
    dist::LaunchEnvironment launch;
    std::chrono::milliseconds collective_timeout{std::chrono::minutes(5)};
};

struct QatOutcome {
    int64_t run_id = 0;
    store::RunStatus status = store::RunStatus::kCreated;
    int exit_code = 0;  // util::kExit*
    std::filesystem::path run_dir;
    std::filesystem::path packed_model;  // empty until written
    nlohmann::json summary;
};

// Throws util::BadInput (exit 2) for bad input, before any run is recorded, and std::exception
// for runtime failures (a run already created is then marked failed with an event naming the
// error). Every run event also goes to `progress`. In a data-parallel run every rank calls it:
// rank 0 records the run, checkpoints the blocks, packs and evaluates; the other ranks compute
// their part of every batch and return after E2E-QP, with `progress` and the summary untouched.
QatOutcome run_qat(const QatRequest& request, events::RunEventSink& progress);

}  // namespace lowbit::qat
