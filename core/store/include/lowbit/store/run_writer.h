// RunWriter: the engine's single writer for one run. Scalars, histograms and statistics are
// buffered and committed in short batched transactions: on flush(), every `batch_rows` rows, and,
// with an age limit, once the oldest buffered row is `max_batch_age_s` old. So a crash loses at
// most the last uncommitted batch and never corrupts the file (WAL), and a reader (the studio
// polls every 500 ms) sees a row within about the age limit however slowly the run steps.
// Not thread-safe: use from the training thread only.
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/workspace.h"

#include <memory>

namespace lowbit::store {

/// A training run's batching (docs/workspace-schema.md §Writing): commits at least every second,
/// so the studio's charts follow a slow run within about a second, and a fast run's rows,
/// hundreds per recorded telemetry step, share their commits with the next steps' (a tensor's
/// index pages are the same from step to step).
inline constexpr int kTrainingBatchRows = 8192;
inline constexpr double kTrainingBatchAgeS = 1.0;

class RunWriter {
public:
    /// max_batch_age_s < 0: no age limit (rows wait for batch_rows or flush()).
    explicit RunWriter(Workspace& workspace, int batch_rows = 256, double max_batch_age_s = -1.0);
    ~RunWriter();  // flushes; never throws
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;

    // Inserts a run (id, created_at filled in) and returns its id. Creates run_dir(id).
    int64_t create_run(const RunRecord& run);
    // Also sets started_at (the first time the run goes to running: a resumed run keeps its
    // first start) and ended_at (on a terminal status; cleared when a run goes back to running).
    // An unknown run id throws StoreError(bad_input=true), as do the set_* calls below.
    void set_status(int64_t run_id, RunStatus status);
    // This process owns `run_id`: records its pid and host and starts the heartbeat, refreshed
    // with every later write batch (docs/workspace-schema.md, "Liveness").
    void attach_process(int64_t run_id);
    // Commits the buffered rows when the oldest is past the age limit, and refreshes the heartbeat
    // when the last one is at least `min_interval_s` old, for stretches without writes (a long
    // step, evaluation). The run recorder calls it on every step event.
    void heartbeat(double min_interval_s = 10.0);
    void set_summary(int64_t run_id, const std::string& summary_json);
    void set_recipe(int64_t run_id, const std::string& recipe_json);
    void set_notes(int64_t run_id, const std::string& notes);
    void set_tags(int64_t run_id, const std::string& tags);

    void add_scalar(const ScalarPoint& point);              // buffered
    void add_histogram(const HistogramRecord& histogram);   // buffered
    void add_tensor_stats(const TensorStatsRecord& stats);  // buffered
    void add_event(const EventRecord& event);       // written immediately (with pending rows)
    void add_block_ap(const BlockApRecord& epoch);  // written immediately (with pending rows)
    int64_t add_checkpoint(const FileRecord& checkpoint);  // immediately; returns its id
    int64_t add_artifact(const FileRecord& artifact);      // immediately
    void flush();  // commits everything buffered in one transaction
    // The rows added so far form a record (a telemetry step): without an age limit they are
    // committed now; with one they are left to it, to share a commit with the next records.
    void flush_soon();

    // Resume support: removes rows of `run_id` recorded after `step` (scalars, histograms,
    // tensor_stats, events, checkpoints, block_ap), which a resumed run recomputes identically.
    void truncate_after(int64_t run_id, int64_t step);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit::store
