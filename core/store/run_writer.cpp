// RunWriter: batched inserts of one run's telemetry through statements prepared once.
#include "lowbit/store/run_writer.h"

#include <sqlite3.h>

#include <chrono>
#include <system_error>
#include <vector>

#include "blob_codec.h"
#include "sqlite_error.h"
#include "statement.h"
#include "transaction.h"

namespace lowbit::store {

namespace {

double unix_now() {
    using Seconds = std::chrono::duration<double>;
    return std::chrono::duration_cast<Seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr char kInsertScalar[] =
    "INSERT INTO scalars (run_id, key, step, tokens, wall_time, value) VALUES (?, ?, ?, ?, ?, ?)";
constexpr char kInsertHistogram[] =
    "INSERT INTO histograms (run_id, step, layer, tensor_kind, bin_scheme, bin_lo, bin_hi, counts,"
    " n, min, max, sum, sumsq, nan_count, inf_count, zero_count, clipped_low, clipped_high)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kInsertQuantStat[] =
    "INSERT INTO quant_stats (run_id, step, layer, tensor_kind, sqnr_db, mse, clip_fraction,"
    " underflow_fraction, scale_min, scale_max, absmax_over_sigma, kurtosis)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kInsertEvent[] =
    "INSERT INTO events (run_id, step, wall_time, kind, text) VALUES (?, ?, ?, ?, ?)";
constexpr char kInsertCheckpoint[] =
    "INSERT INTO checkpoints (run_id, step, kind, path, bytes, sha256, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr char kInsertArtifact[] =
    "INSERT INTO artifacts (run_id, step, kind, path, bytes, sha256, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";

// Tables that truncate_after() rewinds; artifacts are kept (an export stays valid on resume).
constexpr const char* kStepTables[] = {
    "scalars", "histograms", "quant_stats", "events", "checkpoints"};

}  // namespace

struct RunWriter::Impl {
    Impl(Workspace& ws, int batch)
        : workspace(ws),
          db(ws.handle()),
          batch_rows(batch > 0 ? batch : 1),
          insert_scalar(db, kInsertScalar),
          insert_histogram(db, kInsertHistogram),
          insert_quant_stat(db, kInsertQuantStat),
          insert_event(db, kInsertEvent),
          insert_checkpoint(db, kInsertCheckpoint),
          insert_artifact(db, kInsertArtifact) {}

    size_t pending_rows() const {
        return scalars.size() + histograms.size() + quant_stats.size();
    }

    // Inserts the buffered rows; the caller holds the transaction.
    void write_pending() {
        for (const auto& p : scalars) {
            insert_scalar.bind_int64(1, p.run_id)
                .bind_text(2, p.key)
                .bind_int64(3, p.step)
                .bind_int64(4, p.tokens)
                .bind_double(5, p.wall_time)
                .bind_double(6, p.value)
                .execute();
        }
        for (const auto& h : histograms) {
            insert_histogram.bind_int64(1, h.run_id)
                .bind_int64(2, h.step)
                .bind_text(3, h.layer)
                .bind_text(4, h.tensor_kind)
                .bind_text(5, h.bin_scheme)
                .bind_double(6, h.bin_lo)
                .bind_double(7, h.bin_hi)
                .bind_blob(8, encode_counts(h.counts))
                .bind_int64(9, h.n)
                .bind_double(10, h.min)
                .bind_double(11, h.max)
                .bind_double(12, h.sum)
                .bind_double(13, h.sumsq)
                .bind_int64(14, h.nan_count)
                .bind_int64(15, h.inf_count)
                .bind_int64(16, h.zero_count)
                .bind_int64(17, h.clipped_low)
                .bind_int64(18, h.clipped_high)
                .execute();
        }
        for (const auto& q : quant_stats) {
            insert_quant_stat.bind_int64(1, q.run_id)
                .bind_int64(2, q.step)
                .bind_text(3, q.layer)
                .bind_text(4, q.tensor_kind)
                .bind_double(5, q.sqnr_db)
                .bind_double(6, q.mse)
                .bind_double(7, q.clip_fraction)
                .bind_double(8, q.underflow_fraction)
                .bind_double(9, q.scale_min)
                .bind_double(10, q.scale_max)
                .bind_double(11, q.absmax_over_sigma)
                .bind_double(12, q.kurtosis)
                .execute();
        }
    }

    // Buffers are cleared only once the commit succeeded, so a failed flush (disk full, busy)
    // can be retried and the destructor's last flush still has the rows.
    void clear_pending() {
        scalars.clear();
        histograms.clear();
        quant_stats.clear();
    }

    void maybe_flush(RunWriter& writer) {
        if (pending_rows() >= static_cast<size_t>(batch_rows)) {
            writer.flush();
        }
    }

    int64_t insert_file(Statement& insert, const FileRecord& file) {
        Transaction transaction(db);
        write_pending();
        insert.bind_int64(1, file.run_id)
            .bind_int64(2, file.step)
            .bind_text(3, file.kind)
            .bind_text(4, file.path)
            .bind_int64(5, file.bytes)
            .bind_text(6, file.sha256)
            .bind_double(7, file.created_at != 0 ? file.created_at : unix_now())
            .execute();
        const int64_t id = sqlite3_last_insert_rowid(db);
        transaction.commit();
        clear_pending();
        return id;
    }

    // Updates one column of runs; an unknown id is the caller's mistake (e.g. a CLI argument).
    void update_run_text(int64_t run_id, const char* sql, const std::string& value) {
        Statement update(db, sql);
        update.bind_text(1, value).bind_int64(2, run_id).execute();
        require_changed(run_id);
    }

    void require_changed(int64_t run_id) {
        if (sqlite3_changes(db) == 0) {
            throw StoreError(database_name(db) + ": no run with id " + std::to_string(run_id),
                             true);
        }
    }

    Workspace& workspace;
    sqlite3* db;
    int batch_rows;
    Statement insert_scalar;
    Statement insert_histogram;
    Statement insert_quant_stat;
    Statement insert_event;
    Statement insert_checkpoint;
    Statement insert_artifact;
    std::vector<ScalarPoint> scalars;
    std::vector<HistogramRecord> histograms;
    std::vector<QuantStatRecord> quant_stats;
};

RunWriter::RunWriter(Workspace& workspace, int batch_rows)
    : impl_(std::make_unique<Impl>(workspace, batch_rows)) {}

RunWriter::~RunWriter() {
    try {
        flush();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; rows are lost
    }
}

int64_t RunWriter::create_run(const RunRecord& run) {
    flush();
    Statement insert(impl_->db,
                     "INSERT INTO runs (name, kind, status, recipe_json, parent_run_id, fork_step,"
                     " tags, notes, group_name, created_at, started_at, ended_at, host,"
                     " build_info_json, summary_json)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    auto bind_optional_double = [&insert](int index, const std::optional<double>& value) {
        value ? insert.bind_double(index, *value) : insert.bind_null(index);
    };
    insert.bind_text(1, run.name)
        .bind_text(2, run.kind.empty() ? std::string("train") : run.kind)
        .bind_text(3, to_string(run.status))
        .bind_text(4, run.recipe_json.empty() ? std::string("{}") : run.recipe_json)
        .bind_optional_int64(5, run.parent_run_id)
        .bind_optional_int64(6, run.fork_step)
        .bind_text(7, run.tags)
        .bind_text(8, run.notes)
        .bind_text(9, run.group_name)
        .bind_double(10, run.created_at != 0 ? run.created_at : unix_now());
    bind_optional_double(11, run.started_at);
    bind_optional_double(12, run.ended_at);
    insert.bind_text(13, run.host)
        .bind_text(14, run.build_info_json.empty() ? std::string("{}") : run.build_info_json)
        .bind_text(15, run.summary_json.empty() ? std::string("{}") : run.summary_json)
        .execute();
    const int64_t id = sqlite3_last_insert_rowid(impl_->db);

    const auto dir = impl_->workspace.run_dir(id);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
        throw StoreError("cannot create run folder " + dir.string() + ": " + error.message(),
                         false);
    }
    return id;
}

void RunWriter::set_status(int64_t run_id, RunStatus status) {
    flush();
    // started_at keeps the first start (a resumed run's wall times count from it); a resumed
    // run going back to running is no longer ended.
    Statement update(impl_->db,
                     "UPDATE runs SET status = ?1,"
                     " started_at = CASE WHEN ?1 = 'running' THEN coalesce(started_at, ?2)"
                     "                   ELSE started_at END,"
                     " ended_at = CASE WHEN ?3 THEN ?2 WHEN ?1 = 'running' THEN NULL"
                     "                 ELSE ended_at END"
                     " WHERE id = ?4");
    update.bind_text(1, to_string(status))
        .bind_double(2, unix_now())
        .bind_int64(3, is_terminal(status) ? 1 : 0)
        .bind_int64(4, run_id)
        .execute();
    impl_->require_changed(run_id);
}

void RunWriter::set_summary(int64_t run_id, const std::string& summary_json) {
    impl_->update_run_text(run_id, "UPDATE runs SET summary_json = ? WHERE id = ?", summary_json);
}

void RunWriter::set_recipe(int64_t run_id, const std::string& recipe_json) {
    impl_->update_run_text(run_id, "UPDATE runs SET recipe_json = ? WHERE id = ?", recipe_json);
}

void RunWriter::set_notes(int64_t run_id, const std::string& notes) {
    impl_->update_run_text(run_id, "UPDATE runs SET notes = ? WHERE id = ?", notes);
}

void RunWriter::set_tags(int64_t run_id, const std::string& tags) {
    impl_->update_run_text(run_id, "UPDATE runs SET tags = ? WHERE id = ?", tags);
}

void RunWriter::add_scalar(const ScalarPoint& point) {
    impl_->scalars.push_back(point);
    impl_->maybe_flush(*this);
}

void RunWriter::add_histogram(const HistogramRecord& histogram) {
    impl_->histograms.push_back(histogram);
    impl_->maybe_flush(*this);
}

void RunWriter::add_quant_stat(const QuantStatRecord& stat) {
    impl_->quant_stats.push_back(stat);
    impl_->maybe_flush(*this);
}

void RunWriter::add_event(const EventRecord& event) {
    Transaction transaction(impl_->db);
    impl_->write_pending();
    impl_->insert_event.bind_int64(1, event.run_id)
        .bind_int64(2, event.step)
        .bind_double(3, event.wall_time != 0 ? event.wall_time : unix_now())
        .bind_text(4, event.kind)
        .bind_text(5, event.text)
        .execute();
    transaction.commit();
    impl_->clear_pending();
}

int64_t RunWriter::add_checkpoint(const FileRecord& checkpoint) {
    FileRecord record = checkpoint;
    if (record.kind.empty()) {
        record.kind = "checkpoint";
    }
    return impl_->insert_file(impl_->insert_checkpoint, record);
}

int64_t RunWriter::add_artifact(const FileRecord& artifact) {
    return impl_->insert_file(impl_->insert_artifact, artifact);
}

void RunWriter::flush() {
    if (impl_->pending_rows() == 0) {
        return;
    }
    Transaction transaction(impl_->db);
    impl_->write_pending();
    transaction.commit();
    impl_->clear_pending();
}

void RunWriter::truncate_after(int64_t run_id, int64_t step) {
    Transaction transaction(impl_->db);
    impl_->write_pending();
    for (const char* table : kStepTables) {
        Statement erase(impl_->db,
                        std::string("DELETE FROM ") + table + " WHERE run_id = ? AND step > ?");
        erase.bind_int64(1, run_id).bind_int64(2, step).execute();
    }
    transaction.commit();
    impl_->clear_pending();
}

}  // namespace lowbit::store
