// RunReader: read API over a workspace for the CLI and the GUI. Safe to use while an engine
// process writes the same database (WAL readers never block the writer).
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/workspace.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::store {

class RunReader {
public:
    explicit RunReader(const Workspace& workspace);
    ~RunReader();
    RunReader(const RunReader&) = delete;
    RunReader& operator=(const RunReader&) = delete;

    std::vector<RunRecord> list_runs() const;  // newest first
    std::optional<RunRecord> find_run(int64_t run_id) const;
    // Accepts a numeric id or a run name (the newest run with that name).
    std::optional<RunRecord> find_run(const std::string& id_or_name) const;

    std::vector<std::string> scalar_keys(int64_t run_id) const;
    // One summary per scalar key (sorted by key), computed in SQL so a long run is not loaded.
    std::vector<ScalarSummary> scalar_summaries(int64_t run_id) const;
    // Scalars of a run with row_id > since_row_id; key empty = all keys. Ordered by row_id.
    std::vector<ScalarPoint> scalars(int64_t run_id,
                                     const std::string& key = {},
                                     int64_t since_row_id = 0) const;
    std::vector<HistogramRecord> histograms(int64_t run_id,
                                            const std::string& layer,
                                            const std::string& tensor_kind,
                                            std::optional<int64_t> step = std::nullopt) const;
    // Statistics rows of a run with row_id > since_row_id, ordered by step; an empty layer or
    // tensor_kind matches every one.
    std::vector<TensorStatsRecord> tensor_stats(int64_t run_id,
                                                const std::string& layer = {},
                                                const std::string& tensor_kind = {},
                                                int64_t since_row_id = 0) const;
    std::vector<EventRecord> events(int64_t run_id, int64_t since_row_id = 0) const;
    int64_t event_count(int64_t run_id) const;
    std::vector<FileRecord> checkpoints(int64_t run_id) const;  // ordered by step
    // The newest checkpoint a model loads from: a training checkpoint or an EfficientQAT run's
    // packed model, never one of its finished-block files.
    std::optional<FileRecord> latest_checkpoint(int64_t run_id) const;
    // Block-AP rows of a run with row_id > since_row_id, ordered by block and epoch.
    std::vector<BlockApRecord> block_ap(int64_t run_id, int64_t since_row_id = 0) const;
    std::vector<FileRecord> artifacts(int64_t run_id) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit::store
