// RunReader: the queries behind `lowbit runs ...` and the GUI's run browser and plots.
#include "lowbit/store/run_reader.h"

#include <sqlite3.h>

#include <cctype>
#include <charconv>

#include "blob_codec.h"
#include "run_columns.h"
#include "statement.h"

namespace lowbit::store {

namespace {

RunRecord read_run(const Statement& row) {
    namespace rc = runs_column;
    RunRecord run;
    run.id = row.column_int64(rc::kId);
    run.name = row.column_text(rc::kName);
    run.kind = row.column_text(rc::kKind);
    run.status = run_status_from_string(row.column_text(rc::kStatus));
    run.recipe_json = row.column_text(rc::kRecipeJson);
    run.parent_run_id = row.column_optional_int64(rc::kParentRunId);
    run.fork_step = row.column_optional_int64(rc::kForkStep);
    run.tags = row.column_text(rc::kTags);
    run.notes = row.column_text(rc::kNotes);
    run.group_name = row.column_text(rc::kGroupName);
    run.created_at = row.column_double(rc::kCreatedAt);
    run.started_at = row.column_optional_double(rc::kStartedAt);
    run.ended_at = row.column_optional_double(rc::kEndedAt);
    run.host = row.column_text(rc::kHost);
    run.build_info_json = row.column_text(rc::kBuildInfoJson);
    run.summary_json = row.column_text(rc::kSummaryJson);
    run.pid = row.column_optional_int64(rc::kPid);
    run.heartbeat_at = row.column_optional_double(rc::kHeartbeatAt);
    return run;
}

FileRecord read_file(const Statement& row) {
    namespace fc = files_column;
    FileRecord file;
    file.id = row.column_int64(fc::kId);
    file.run_id = row.column_int64(fc::kRunId);
    file.step = row.column_int64(fc::kStep);
    file.kind = row.column_text(fc::kKind);
    file.path = row.column_text(fc::kPath);
    file.bytes = row.column_int64(fc::kBytes);
    file.sha256 = row.column_text(fc::kSha256);
    file.created_at = row.column_double(fc::kCreatedAt);
    return file;
}

std::vector<FileRecord> read_files(Statement& query) {
    std::vector<FileRecord> files;
    while (query.step()) {
        files.push_back(read_file(query));
    }
    return files;
}

std::optional<int64_t> parse_id(const std::string& text) {
    int64_t id = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, id);
    if (text.empty() || error != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return id;
}

}  // namespace

struct RunReader::Impl {
    sqlite3* db;
};

RunReader::RunReader(const Workspace& workspace)
    : impl_(std::make_unique<Impl>(Impl{workspace.handle()})) {}

RunReader::~RunReader() = default;

std::vector<RunRecord> RunReader::list_runs() const {
    Statement query(impl_->db, kRunsTable.select_sql() + "ORDER BY created_at DESC, id DESC");
    std::vector<RunRecord> runs;
    while (query.step()) {
        runs.push_back(read_run(query));
    }
    return runs;
}

std::optional<RunRecord> RunReader::find_run(int64_t run_id) const {
    Statement query(impl_->db, kRunsTable.select_sql() + "WHERE id = ?");
    query.bind_int64(1, run_id);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_run(query);
}

std::optional<RunRecord> RunReader::find_run(const std::string& id_or_name) const {
    // An id wins over a run that happens to be named with digits; that name is still found
    // when no run has that id.
    if (const auto id = parse_id(id_or_name)) {
        if (auto run = find_run(*id)) {
            return run;
        }
    }
    Statement query(
        impl_->db,
        kRunsTable.select_sql() + "WHERE name = ? ORDER BY created_at DESC, id DESC LIMIT 1");
    query.bind_text(1, id_or_name);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_run(query);
}

std::vector<std::string> RunReader::scalar_keys(int64_t run_id) const {
    Statement query(impl_->db, "SELECT DISTINCT key FROM scalars WHERE run_id = ? ORDER BY key");
    query.bind_int64(1, run_id);
    std::vector<std::string> keys;
    while (query.step()) {
        keys.push_back(query.column_text(0));
    }
    return keys;
}

std::vector<ScalarSummary> RunReader::scalar_summaries(int64_t run_id) const {
    // The last row of each key (ties on step: the latest row wins), found through the
    // (run_id, key, step) index, whose entries end with the row id: one index seek per key
    // instead of sorting every row of the run (docs/benchmarks.md §Compare view with 20 runs).
    Statement last(
        impl_->db,
        "SELECT k.key,"
        " (SELECT count(*) FROM scalars c WHERE c.run_id = ?1 AND c.key = k.key),"
        " s.step, s.value"
        " FROM (SELECT DISTINCT key FROM scalars WHERE run_id = ?1) AS k"
        " JOIN scalars AS s ON s.id = (SELECT l.id FROM scalars l"
        "  WHERE l.run_id = ?1 AND l.key = k.key ORDER BY l.step DESC, l.id DESC LIMIT 1)"
        " ORDER BY k.key");
    last.bind_int64(1, run_id);
    std::vector<ScalarSummary> summaries;
    while (last.step()) {
        ScalarSummary summary;
        summary.key = last.column_text(0);
        summary.count = last.column_int64(1);
        summary.last_step = last.column_int64(2);
        summary.last_value = last.column_double(3);
        summaries.push_back(std::move(summary));
    }
    // SQLite documents that bare columns next to min() come from the row holding the minimum.
    Statement best(impl_->db,
                   "SELECT key, min(value), step FROM scalars"
                   " WHERE run_id = ? AND value IS NOT NULL GROUP BY key ORDER BY key");
    best.bind_int64(1, run_id);
    size_t i = 0;
    while (best.step()) {
        const std::string key = best.column_text(0);
        while (i < summaries.size() && summaries[i].key < key) {
            ++i;
        }
        if (i < summaries.size() && summaries[i].key == key) {
            summaries[i].min_value = best.column_double(1);
            summaries[i].min_step = best.column_int64(2);
        }
    }
    return summaries;
}

std::vector<ScalarPoint> RunReader::scalars(int64_t run_id,
                                            const std::string& key,
                                            int64_t since_row_id) const {
    Statement query(impl_->db,
                    kScalarsTable.select_sql() +
                        "WHERE run_id = ?1 AND id > ?2 AND (?3 = '' OR key = ?3) ORDER BY id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id).bind_text(3, key);
    std::vector<ScalarPoint> points;
    while (query.step()) {
        namespace sc = scalars_column;
        ScalarPoint point;
        point.row_id = query.column_int64(sc::kId);
        point.run_id = query.column_int64(sc::kRunId);
        point.key = query.column_text(sc::kKey);
        point.step = query.column_int64(sc::kStep);
        point.tokens = query.column_int64(sc::kTokens);
        point.wall_time = query.column_double(sc::kWallTime);
        point.value = query.column_double(sc::kValue);
        points.push_back(std::move(point));
    }
    return points;
}

std::vector<HistogramRecord> RunReader::histograms(int64_t run_id,
                                                   const std::string& layer,
                                                   const std::string& tensor_kind,
                                                   std::optional<int64_t> step) const {
    Statement query(impl_->db,
                    kHistogramsTable.select_sql() +
                        "WHERE run_id = ?1 AND layer = ?2 AND tensor_kind = ?3"
                        " AND (?4 IS NULL OR step = ?4) ORDER BY step, id");
    query.bind_int64(1, run_id)
        .bind_text(2, layer)
        .bind_text(3, tensor_kind)
        .bind_optional_int64(4, step);
    std::vector<HistogramRecord> records;
    while (query.step()) {
        namespace hc = histograms_column;
        HistogramRecord h;
        h.row_id = query.column_int64(hc::kId);
        h.run_id = query.column_int64(hc::kRunId);
        h.step = query.column_int64(hc::kStep);
        h.layer = query.column_text(hc::kLayer);
        h.tensor_kind = query.column_text(hc::kTensorKind);
        h.bin_scheme = query.column_text(hc::kBinScheme);
        h.bin_lo = query.column_double(hc::kBinLo);
        h.bin_hi = query.column_double(hc::kBinHi);
        h.counts = decode_counts(query.column_blob(hc::kCounts));
        h.below = query.column_int64(hc::kBelow);
        h.above = query.column_int64(hc::kAbove);
        records.push_back(std::move(h));
    }
    return records;
}

std::vector<TensorStatsRecord> RunReader::tensor_stats(int64_t run_id,
                                                       const std::string& layer,
                                                       const std::string& tensor_kind,
                                                       int64_t since_row_id) const {
    Statement query(impl_->db,
                    kTensorStatsTable.select_sql() +
                        "WHERE run_id = ?1 AND id > ?2 AND (?3 = '' OR layer = ?3)"
                        " AND (?4 = '' OR tensor_kind = ?4) ORDER BY step, id");
    query.bind_int64(1, run_id)
        .bind_int64(2, since_row_id)
        .bind_text(3, layer)
        .bind_text(4, tensor_kind);
    std::vector<TensorStatsRecord> stats;
    while (query.step()) {
        namespace tc = tensor_stats_column;
        TensorStatsRecord t;
        t.row_id = query.column_int64(tc::kId);
        t.run_id = query.column_int64(tc::kRunId);
        t.step = query.column_int64(tc::kStep);
        t.layer = query.column_text(tc::kLayer);
        t.tensor_kind = query.column_text(tc::kTensorKind);
        if (!query.column_is_null(tc::kQuantizer)) {
            t.quantizer = query.column_text(tc::kQuantizer);
        }
        t.qn = query.column_optional_int64(tc::kQn);
        t.qp = query.column_optional_int64(tc::kQp);
        t.n = query.column_int64(tc::kN);
        t.min = query.column_double(tc::kMin);
        t.max = query.column_double(tc::kMax);
        t.sum = query.column_double(tc::kSum);
        t.sumsq = query.column_double(tc::kSumsq);
        t.nan_count = query.column_int64(tc::kNanCount);
        t.inf_count = query.column_int64(tc::kInfCount);
        t.zero_count = query.column_int64(tc::kZeroCount);
        t.clipped_low = query.column_int64(tc::kClippedLow);
        t.clipped_high = query.column_int64(tc::kClippedHigh);
        t.sqnr_db = query.column_double(tc::kSqnrDb);
        t.mse = query.column_double(tc::kMse);
        t.clip_fraction = query.column_double(tc::kClipFraction);
        t.underflow_fraction = query.column_double(tc::kUnderflowFraction);
        t.scale_min = query.column_double(tc::kScaleMin);
        t.scale_max = query.column_double(tc::kScaleMax);
        t.absmax_over_sigma = query.column_double(tc::kAbsmaxOverSigma);
        t.kurtosis = query.column_double(tc::kKurtosis);
        stats.push_back(std::move(t));
    }
    return stats;
}

std::vector<EventRecord> RunReader::events(int64_t run_id, int64_t since_row_id) const {
    Statement query(impl_->db,
                    kEventsTable.select_sql() + "WHERE run_id = ? AND id > ? ORDER BY id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id);
    std::vector<EventRecord> events;
    while (query.step()) {
        namespace ec = events_column;
        EventRecord e;
        e.row_id = query.column_int64(ec::kId);
        e.run_id = query.column_int64(ec::kRunId);
        e.step = query.column_int64(ec::kStep);
        e.wall_time = query.column_double(ec::kWallTime);
        e.kind = query.column_text(ec::kKind);
        e.text = query.column_text(ec::kText);
        events.push_back(std::move(e));
    }
    return events;
}

std::vector<BlockApRecord> RunReader::block_ap(int64_t run_id, int64_t since_row_id) const {
    Statement query(
        impl_->db,
        kBlockApTable.select_sql() + "WHERE run_id = ? AND id > ? ORDER BY block, epoch, id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id);
    std::vector<BlockApRecord> rows;
    while (query.step()) {
        namespace bc = block_ap_column;
        BlockApRecord r;
        r.row_id = query.column_int64(bc::kId);
        r.run_id = query.column_int64(bc::kRunId);
        r.step = query.column_int64(bc::kStep);
        r.block = query.column_int64(bc::kBlock);
        r.epoch = static_cast<int>(query.column_int64(bc::kEpoch));
        r.train_loss = query.column_double(bc::kTrainLoss);
        r.val_loss = query.column_double(bc::kValLoss);
        r.quant_lr = query.column_double(bc::kQuantLr);
        r.weight_lr = query.column_double(bc::kWeightLr);
        r.seconds = query.column_double(bc::kSeconds);
        r.peak_memory_bytes = query.column_int64(bc::kPeakMemoryBytes);
        r.wall_time = query.column_double(bc::kWallTime);
        rows.push_back(r);
    }
    return rows;
}

int64_t RunReader::event_count(int64_t run_id) const {
    Statement query(impl_->db, "SELECT count(*) FROM events WHERE run_id = ?");
    query.bind_int64(1, run_id);
    return query.step() ? query.column_int64(0) : 0;
}

std::vector<FileRecord> RunReader::checkpoints(int64_t run_id) const {
    Statement query(impl_->db,
                    kCheckpointsTable.select_sql() + "WHERE run_id = ? ORDER BY step, id");
    query.bind_int64(1, run_id);
    return read_files(query);
}

std::optional<FileRecord> RunReader::latest_checkpoint(int64_t run_id) const {
    Statement query(impl_->db,
                    kCheckpointsTable.select_sql() +
                        "WHERE run_id = ? AND kind != 'block' ORDER BY step DESC, id DESC LIMIT 1");
    query.bind_int64(1, run_id);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_file(query);
}

std::vector<FileRecord> RunReader::artifacts(int64_t run_id) const {
    Statement query(impl_->db, kArtifactsTable.select_sql() + "WHERE run_id = ? ORDER BY id");
    query.bind_int64(1, run_id);
    return read_files(query);
}

}  // namespace lowbit::store
