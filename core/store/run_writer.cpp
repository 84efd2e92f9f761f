// RunWriter: batched inserts of one run's telemetry through statements prepared once.
#include "lowbit/store/run_writer.h"

#include <sqlite3.h>

#include <chrono>
#include <system_error>
#include <vector>

#include "blob_codec.h"
#include "run_columns.h"
#include "sqlite_error.h"
#include "statement.h"
#include "transaction.h"
#include <unistd.h>

namespace lowbit::store {

namespace {

double unix_now() {
    using Seconds = std::chrono::duration<double>;
    return std::chrono::duration_cast<Seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Tables that truncate_after() rewinds; artifacts are kept (an export stays valid on resume).
constexpr const char* kStepTables[] = {
    "scalars", "histograms", "tensor_stats", "events", "checkpoints", "block_ap"};

}  // namespace

struct RunWriter::Impl {
    using Clock = std::chrono::steady_clock;

    Impl(Workspace& ws, int batch, double max_age_s)
        : workspace(ws),
          db(ws.handle()),
          batch_rows(batch > 0 ? batch : 1),
          max_batch_age_s(max_age_s),
          insert_scalar(db, kScalarsTable.insert_sql()),
          insert_histogram(db, kHistogramsTable.insert_sql()),
          insert_tensor_stats(db, kTensorStatsTable.insert_sql()),
          insert_event(db, kEventsTable.insert_sql()),
          insert_block_ap(db, kBlockApTable.insert_sql()),
          insert_checkpoint(db, kCheckpointsTable.insert_sql()),
          insert_artifact(db, kArtifactsTable.insert_sql()),
          update_heartbeat(db, "UPDATE runs SET heartbeat_at = ? WHERE id = ?") {}

    size_t pending_rows() const {
        return scalars.size() + histograms.size() + tensor_stats.size();
    }

    // Inserts the buffered rows and refreshes the owned run's heartbeat; the caller holds the
    // transaction.
    void write_pending() {
        namespace sc = scalars_column;
        for (const auto& p : scalars) {
            insert_scalar.bind_int64(sc::kRunId, p.run_id)
                .bind_text(sc::kKey, p.key)
                .bind_int64(sc::kStep, p.step)
                .bind_int64(sc::kTokens, p.tokens)
                .bind_double(sc::kWallTime, p.wall_time)
                .bind_double(sc::kValue, p.value)
                .execute();
        }
        namespace hc = histograms_column;
        for (const auto& h : histograms) {
            insert_histogram.bind_int64(hc::kRunId, h.run_id)
                .bind_int64(hc::kStep, h.step)
                .bind_text(hc::kLayer, h.layer)
                .bind_text(hc::kTensorKind, h.tensor_kind)
                .bind_text(hc::kBinScheme, h.bin_scheme)
                .bind_double(hc::kBinLo, h.bin_lo)
                .bind_double(hc::kBinHi, h.bin_hi)
                .bind_blob(hc::kCounts, encode_counts(h.counts))
                .bind_int64(hc::kBelow, h.below)
                .bind_int64(hc::kAbove, h.above)
                .execute();
        }
        namespace tc = tensor_stats_column;
        for (const auto& t : tensor_stats) {
            insert_tensor_stats.bind_int64(tc::kRunId, t.run_id)
                .bind_int64(tc::kStep, t.step)
                .bind_text(tc::kLayer, t.layer)
                .bind_text(tc::kTensorKind, t.tensor_kind);
            if (t.quantizer) {
                insert_tensor_stats.bind_text(tc::kQuantizer, *t.quantizer);
            } else {
                insert_tensor_stats.bind_null(tc::kQuantizer);
            }
            insert_tensor_stats.bind_optional_int64(tc::kQn, t.qn)
                .bind_optional_int64(tc::kQp, t.qp)
                .bind_int64(tc::kN, t.n)
                .bind_double(tc::kMin, t.min)
                .bind_double(tc::kMax, t.max)
                .bind_double(tc::kSum, t.sum)
                .bind_double(tc::kSumsq, t.sumsq)
                .bind_int64(tc::kNanCount, t.nan_count)
                .bind_int64(tc::kInfCount, t.inf_count)
                .bind_int64(tc::kZeroCount, t.zero_count)
                .bind_int64(tc::kClippedLow, t.clipped_low)
                .bind_int64(tc::kClippedHigh, t.clipped_high)
                .bind_double(tc::kSqnrDb, t.sqnr_db)
                .bind_double(tc::kMse, t.mse)
                .bind_double(tc::kClipFraction, t.clip_fraction)
                .bind_double(tc::kUnderflowFraction, t.underflow_fraction)
                .bind_double(tc::kScaleMin, t.scale_min)
                .bind_double(tc::kScaleMax, t.scale_max)
                .bind_double(tc::kAbsmaxOverSigma, t.absmax_over_sigma)
                .bind_double(tc::kKurtosis, t.kurtosis)
                .execute();
        }
        write_heartbeat();
    }

    void write_heartbeat() {
        if (!owned_run) {
            return;
        }
        const double now = unix_now();
        update_heartbeat.bind_double(1, now).bind_int64(2, *owned_run).execute();
        last_heartbeat = now;
    }

    // Buffers are cleared only once the commit succeeded, so a failed flush (disk full, busy)
    // can be retried and the destructor's last flush still has the rows.
    void clear_pending() {
        scalars.clear();
        histograms.clear();
        tensor_stats.clear();
    }

    // Before a row is buffered: an empty buffer starts the age of the batch.
    void note_new_row() {
        if (pending_rows() == 0) {
            oldest_pending = Clock::now();
        }
    }

    bool past_age_limit() const {
        return max_batch_age_s >= 0 && pending_rows() > 0 &&
               std::chrono::duration<double>(Clock::now() - oldest_pending).count() >=
                   max_batch_age_s;
    }

    void maybe_flush(RunWriter& writer) {
        if (pending_rows() >= static_cast<size_t>(batch_rows) || past_age_limit()) {
            writer.flush();
        }
    }

    int64_t insert_file(Statement& insert, const FileRecord& file) {
        Transaction transaction(db);
        write_pending();
        namespace fc = files_column;
        insert.bind_int64(fc::kRunId, file.run_id)
            .bind_int64(fc::kStep, file.step)
            .bind_text(fc::kKind, file.kind)
            .bind_text(fc::kPath, file.path)
            .bind_int64(fc::kBytes, file.bytes)
            .bind_text(fc::kSha256, file.sha256)
            .bind_double(fc::kCreatedAt, file.created_at != 0 ? file.created_at : unix_now())
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
    double max_batch_age_s;            // < 0: no age limit
    Clock::time_point oldest_pending;  // when the first buffered row of the batch came
    Statement insert_scalar;
    Statement insert_histogram;
    Statement insert_tensor_stats;
    Statement insert_event;
    Statement insert_block_ap;
    Statement insert_checkpoint;
    Statement insert_artifact;
    Statement update_heartbeat;  // runs with every write batch: prepared once
    std::vector<ScalarPoint> scalars;
    std::vector<HistogramRecord> histograms;
    std::vector<TensorStatsRecord> tensor_stats;
    std::optional<int64_t> owned_run;  // attach_process(): the run whose heartbeat we refresh
    double last_heartbeat = 0;
};

RunWriter::RunWriter(Workspace& workspace, int batch_rows, double max_batch_age_s)
    : impl_(std::make_unique<Impl>(workspace, batch_rows, max_batch_age_s)) {}

RunWriter::~RunWriter() {
    try {
        flush();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; rows are lost
    }
}

int64_t RunWriter::create_run(const RunRecord& run) {
    flush();
    namespace rc = runs_column;
    Statement insert(impl_->db, kRunsTable.insert_sql());
    auto bind_optional_double = [&insert](int index, const std::optional<double>& value) {
        value ? insert.bind_double(index, *value) : insert.bind_null(index);
    };
    insert.bind_text(rc::kName, run.name)
        .bind_text(rc::kKind, run.kind.empty() ? std::string("train") : run.kind)
        .bind_text(rc::kStatus, to_string(run.status))
        .bind_text(rc::kRecipeJson, run.recipe_json.empty() ? std::string("{}") : run.recipe_json)
        .bind_optional_int64(rc::kParentRunId, run.parent_run_id)
        .bind_optional_int64(rc::kForkStep, run.fork_step)
        .bind_text(rc::kTags, run.tags)
        .bind_text(rc::kNotes, run.notes)
        .bind_text(rc::kGroupName, run.group_name)
        .bind_double(rc::kCreatedAt, run.created_at != 0 ? run.created_at : unix_now());
    bind_optional_double(rc::kStartedAt, run.started_at);
    bind_optional_double(rc::kEndedAt, run.ended_at);
    insert.bind_text(rc::kHost, run.host)
        .bind_text(rc::kBuildInfoJson,
                   run.build_info_json.empty() ? std::string("{}") : run.build_info_json)
        .bind_text(rc::kSummaryJson,
                   run.summary_json.empty() ? std::string("{}") : run.summary_json)
        .bind_optional_int64(rc::kPid, run.pid);
    bind_optional_double(rc::kHeartbeatAt, run.heartbeat_at);
    insert.execute();
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

void RunWriter::attach_process(int64_t run_id) {
    flush();
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    Statement update(impl_->db, "UPDATE runs SET pid = ?, host = ?, heartbeat_at = ? WHERE id = ?");
    update.bind_int64(1, static_cast<int64_t>(::getpid()))
        .bind_text(2, host)
        .bind_double(3, unix_now())
        .bind_int64(4, run_id)
        .execute();
    impl_->require_changed(run_id);
    impl_->owned_run = run_id;
    impl_->last_heartbeat = unix_now();
}

void RunWriter::heartbeat(double min_interval_s) {
    impl_->maybe_flush(*this);  // a commit refreshes the heartbeat too
    if (impl_->owned_run && unix_now() - impl_->last_heartbeat >= min_interval_s) {
        impl_->write_heartbeat();
    }
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
    impl_->note_new_row();
    impl_->scalars.push_back(point);
    impl_->maybe_flush(*this);
}

void RunWriter::add_histogram(const HistogramRecord& histogram) {
    impl_->note_new_row();
    impl_->histograms.push_back(histogram);
    impl_->maybe_flush(*this);
}

void RunWriter::add_tensor_stats(const TensorStatsRecord& stats) {
    impl_->note_new_row();
    impl_->tensor_stats.push_back(stats);
    impl_->maybe_flush(*this);
}

void RunWriter::add_event(const EventRecord& event) {
    Transaction transaction(impl_->db);
    impl_->write_pending();
    namespace ec = events_column;
    impl_->insert_event.bind_int64(ec::kRunId, event.run_id)
        .bind_int64(ec::kStep, event.step)
        .bind_double(ec::kWallTime, event.wall_time != 0 ? event.wall_time : unix_now())
        .bind_text(ec::kKind, event.kind)
        .bind_text(ec::kText, event.text)
        .execute();
    transaction.commit();
    impl_->clear_pending();
}

void RunWriter::add_block_ap(const BlockApRecord& epoch) {
    Transaction transaction(impl_->db);
    impl_->write_pending();
    namespace bc = block_ap_column;
    impl_->insert_block_ap.bind_int64(bc::kRunId, epoch.run_id)
        .bind_int64(bc::kStep, epoch.step)
        .bind_int64(bc::kBlock, epoch.block)
        .bind_int64(bc::kEpoch, epoch.epoch)
        .bind_double(bc::kTrainLoss, epoch.train_loss)
        .bind_double(bc::kValLoss, epoch.val_loss)
        .bind_double(bc::kQuantLr, epoch.quant_lr)
        .bind_double(bc::kWeightLr, epoch.weight_lr)
        .bind_double(bc::kSeconds, epoch.seconds)
        .bind_int64(bc::kPeakMemoryBytes, epoch.peak_memory_bytes)
        .bind_double(bc::kWallTime, epoch.wall_time)
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

void RunWriter::flush_soon() {
    if (impl_->max_batch_age_s < 0) {
        flush();
    } else {
        impl_->maybe_flush(*this);
    }
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
