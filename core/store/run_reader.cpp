// RunReader: the queries behind `lowbit runs ...` and the GUI's run browser and plots.
#include "lowbit/store/run_reader.h"

#include <sqlite3.h>

#include <cctype>
#include <charconv>

#include "blob_codec.h"
#include "statement.h"

namespace lowbit::store {

namespace {

constexpr char kRunColumns[] =
    "SELECT id, name, kind, status, recipe_json, parent_run_id, fork_step, tags, notes,"
    " group_name, created_at, started_at, ended_at, host, build_info_json, summary_json"
    " FROM runs ";

RunRecord read_run(const Statement& row) {
    RunRecord run;
    run.id = row.column_int64(0);
    run.name = row.column_text(1);
    run.kind = row.column_text(2);
    run.status = run_status_from_string(row.column_text(3));
    run.recipe_json = row.column_text(4);
    run.parent_run_id = row.column_optional_int64(5);
    run.fork_step = row.column_optional_int64(6);
    run.tags = row.column_text(7);
    run.notes = row.column_text(8);
    run.group_name = row.column_text(9);
    run.created_at = row.column_double(10);
    run.started_at = row.column_optional_double(11);
    run.ended_at = row.column_optional_double(12);
    run.host = row.column_text(13);
    run.build_info_json = row.column_text(14);
    run.summary_json = row.column_text(15);
    return run;
}

constexpr char kFileColumns[] =
    "SELECT id, run_id, step, kind, path, bytes, sha256, created_at FROM ";

FileRecord read_file(const Statement& row) {
    FileRecord file;
    file.id = row.column_int64(0);
    file.run_id = row.column_int64(1);
    file.step = row.column_int64(2);
    file.kind = row.column_text(3);
    file.path = row.column_text(4);
    file.bytes = row.column_int64(5);
    file.sha256 = row.column_text(6);
    file.created_at = row.column_double(7);
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
    Statement query(impl_->db, std::string(kRunColumns) + "ORDER BY created_at DESC, id DESC");
    std::vector<RunRecord> runs;
    while (query.step()) {
        runs.push_back(read_run(query));
    }
    return runs;
}

std::optional<RunRecord> RunReader::find_run(int64_t run_id) const {
    Statement query(impl_->db, std::string(kRunColumns) + "WHERE id = ?");
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
        std::string(kRunColumns) + "WHERE name = ? ORDER BY created_at DESC, id DESC LIMIT 1");
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
    // Window function for the last row of each key (ties on step: the latest row wins).
    Statement last(impl_->db,
                   "SELECT key, n, step, value FROM ("
                   " SELECT key, step, value,"
                   "  row_number() OVER (PARTITION BY key ORDER BY step DESC, id DESC) AS rn,"
                   "  count(*) OVER (PARTITION BY key) AS n"
                   " FROM scalars WHERE run_id = ?) WHERE rn = 1 ORDER BY key");
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
                    "SELECT id, run_id, key, step, tokens, wall_time, value FROM scalars"
                    " WHERE run_id = ?1 AND id > ?2 AND (?3 = '' OR key = ?3) ORDER BY id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id).bind_text(3, key);
    std::vector<ScalarPoint> points;
    while (query.step()) {
        ScalarPoint point;
        point.row_id = query.column_int64(0);
        point.run_id = query.column_int64(1);
        point.key = query.column_text(2);
        point.step = query.column_int64(3);
        point.tokens = query.column_int64(4);
        point.wall_time = query.column_double(5);
        point.value = query.column_double(6);
        points.push_back(std::move(point));
    }
    return points;
}

std::vector<HistogramRecord> RunReader::histograms(int64_t run_id,
                                                   const std::string& layer,
                                                   const std::string& tensor_kind,
                                                   std::optional<int64_t> step) const {
    Statement query(impl_->db,
                    "SELECT id, run_id, step, layer, tensor_kind, bin_scheme, bin_lo, bin_hi,"
                    " counts, n, min, max, sum, sumsq, nan_count, inf_count, zero_count,"
                    " clipped_low, clipped_high FROM histograms"
                    " WHERE run_id = ?1 AND layer = ?2 AND tensor_kind = ?3"
                    " AND (?4 IS NULL OR step = ?4) ORDER BY step, id");
    query.bind_int64(1, run_id)
        .bind_text(2, layer)
        .bind_text(3, tensor_kind)
        .bind_optional_int64(4, step);
    std::vector<HistogramRecord> records;
    while (query.step()) {
        HistogramRecord h;
        h.row_id = query.column_int64(0);
        h.run_id = query.column_int64(1);
        h.step = query.column_int64(2);
        h.layer = query.column_text(3);
        h.tensor_kind = query.column_text(4);
        h.bin_scheme = query.column_text(5);
        h.bin_lo = query.column_double(6);
        h.bin_hi = query.column_double(7);
        h.counts = decode_counts(query.column_blob(8));
        h.n = query.column_int64(9);
        h.min = query.column_double(10);
        h.max = query.column_double(11);
        h.sum = query.column_double(12);
        h.sumsq = query.column_double(13);
        h.nan_count = query.column_int64(14);
        h.inf_count = query.column_int64(15);
        h.zero_count = query.column_int64(16);
        h.clipped_low = query.column_int64(17);
        h.clipped_high = query.column_int64(18);
        records.push_back(std::move(h));
    }
    return records;
}

std::vector<QuantStatRecord> RunReader::quant_stats(int64_t run_id) const {
    Statement query(impl_->db,
                    "SELECT run_id, step, layer, tensor_kind, sqnr_db, mse, clip_fraction,"
                    " underflow_fraction, scale_min, scale_max, absmax_over_sigma, kurtosis"
                    " FROM quant_stats WHERE run_id = ? ORDER BY step, id");
    query.bind_int64(1, run_id);
    std::vector<QuantStatRecord> stats;
    while (query.step()) {
        QuantStatRecord q;
        q.run_id = query.column_int64(0);
        q.step = query.column_int64(1);
        q.layer = query.column_text(2);
        q.tensor_kind = query.column_text(3);
        q.sqnr_db = query.column_double(4);
        q.mse = query.column_double(5);
        q.clip_fraction = query.column_double(6);
        q.underflow_fraction = query.column_double(7);
        q.scale_min = query.column_double(8);
        q.scale_max = query.column_double(9);
        q.absmax_over_sigma = query.column_double(10);
        q.kurtosis = query.column_double(11);
        stats.push_back(std::move(q));
    }
    return stats;
}

std::vector<EventRecord> RunReader::events(int64_t run_id, int64_t since_row_id) const {
    Statement query(impl_->db,
                    "SELECT id, run_id, step, wall_time, kind, text FROM events"
                    " WHERE run_id = ? AND id > ? ORDER BY id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id);
    std::vector<EventRecord> events;
    while (query.step()) {
        EventRecord e;
        e.row_id = query.column_int64(0);
        e.run_id = query.column_int64(1);
        e.step = query.column_int64(2);
        e.wall_time = query.column_double(3);
        e.kind = query.column_text(4);
        e.text = query.column_text(5);
        events.push_back(std::move(e));
    }
    return events;
}

int64_t RunReader::event_count(int64_t run_id) const {
    Statement query(impl_->db, "SELECT count(*) FROM events WHERE run_id = ?");
    query.bind_int64(1, run_id);
    return query.step() ? query.column_int64(0) : 0;
}

std::vector<FileRecord> RunReader::checkpoints(int64_t run_id) const {
    Statement query(impl_->db,
                    std::string(kFileColumns) + "checkpoints WHERE run_id = ? ORDER BY step, id");
    query.bind_int64(1, run_id);
    return read_files(query);
}

std::optional<FileRecord> RunReader::latest_checkpoint(int64_t run_id) const {
    Statement query(impl_->db,
                    std::string(kFileColumns) +
                        "checkpoints WHERE run_id = ? ORDER BY step DESC, id DESC LIMIT 1");
    query.bind_int64(1, run_id);
    if (!query.step()) {
        return std::nullopt;
    }
    return read_file(query);
}

std::vector<FileRecord> RunReader::artifacts(int64_t run_id) const {
    Statement query(impl_->db,
                    std::string(kFileColumns) + "artifacts WHERE run_id = ? ORDER BY id");
    query.bind_int64(1, run_id);
    return read_files(query);
}

}  // namespace lowbit::store
