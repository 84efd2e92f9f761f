// Column lists of the workspace tables (see run_columns.h). Each array is in the order of its
// enum; a static_assert ties the two together.
#include "run_columns.h"

#include <array>

namespace lowbit::store {

namespace {

constexpr std::array<const char*, 18> kRunsNames = {"id",
                                                    "name",
                                                    "kind",
                                                    "status",
                                                    "recipe_json",
                                                    "parent_run_id",
                                                    "fork_step",
                                                    "tags",
                                                    "notes",
                                                    "group_name",
                                                    "created_at",
                                                    "started_at",
                                                    "ended_at",
                                                    "host",
                                                    "build_info_json",
                                                    "summary_json",
                                                    "pid",
                                                    "heartbeat_at"};
static_assert(kRunsNames.size() == runs_column::kHeartbeatAt + 1);

constexpr std::array<const char*, 7> kScalarsNames = {
    "id", "run_id", "key", "step", "tokens", "wall_time", "value"};
static_assert(kScalarsNames.size() == scalars_column::kValue + 1);

constexpr std::array<const char*, 11> kHistogramsNames = {"id",
                                                          "run_id",
                                                          "step",
                                                          "layer",
                                                          "tensor_kind",
                                                          "bin_scheme",
                                                          "bin_lo",
                                                          "bin_hi",
                                                          "counts",
                                                          "below",
                                                          "above"};
static_assert(kHistogramsNames.size() == histograms_column::kAbove + 1);

constexpr std::array<const char*, 26> kTensorStatsNames = {"id",
                                                           "run_id",
                                                           "step",
                                                           "layer",
                                                           "tensor_kind",
                                                           "quantizer",
                                                           "qn",
                                                           "qp",
                                                           "n",
                                                           "min",
                                                           "max",
                                                           "sum",
                                                           "sumsq",
                                                           "nan_count",
                                                           "inf_count",
                                                           "zero_count",
                                                           "clipped_low",
                                                           "clipped_high",
                                                           "sqnr_db",
                                                           "mse",
                                                           "clip_fraction",
                                                           "underflow_fraction",
                                                           "scale_min",
                                                           "scale_max",
                                                           "absmax_over_sigma",
                                                           "kurtosis"};
static_assert(kTensorStatsNames.size() == tensor_stats_column::kKurtosis + 1);

constexpr std::array<const char*, 6> kEventsNames = {
    "id", "run_id", "step", "wall_time", "kind", "text"};
static_assert(kEventsNames.size() == events_column::kText + 1);

constexpr std::array<const char*, 8> kFilesNames = {
    "id", "run_id", "step", "kind", "path", "bytes", "sha256", "created_at"};
static_assert(kFilesNames.size() == files_column::kCreatedAt + 1);

constexpr std::array<const char*, 9> kAlertsNames = {
    "id", "run_id", "step", "rule", "subject", "value", "threshold", "message", "created_at"};
static_assert(kAlertsNames.size() == alerts_column::kCreatedAt + 1);

constexpr std::array<const char*, 12> kBlockApNames = {"id",
                                                       "run_id",
                                                       "step",
                                                       "block",
                                                       "epoch",
                                                       "train_loss",
                                                       "val_loss",
                                                       "quant_lr",
                                                       "weight_lr",
                                                       "seconds",
                                                       "peak_memory_bytes",
                                                       "wall_time"};
static_assert(kBlockApNames.size() == block_ap_column::kWallTime + 1);

}  // namespace

const TableColumns kRunsTable{"runs", kRunsNames};
const TableColumns kScalarsTable{"scalars", kScalarsNames};
const TableColumns kHistogramsTable{"histograms", kHistogramsNames};
const TableColumns kTensorStatsTable{"tensor_stats", kTensorStatsNames};
const TableColumns kEventsTable{"events", kEventsNames};
const TableColumns kCheckpointsTable{"checkpoints", kFilesNames};
const TableColumns kArtifactsTable{"artifacts", kFilesNames};
const TableColumns kAlertsTable{"run_alerts", kAlertsNames};
const TableColumns kBlockApTable{"block_ap", kBlockApNames};

std::string TableColumns::select_sql() const {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < names.size(); ++i) {
        sql += (i ? ", " : "") + std::string(names[i]);
    }
    return sql + " FROM " + table + " ";
}

std::string TableColumns::insert_sql() const {
    std::string columns;
    std::string values;
    for (size_t i = 1; i < names.size(); ++i) {
        columns += (i > 1 ? ", " : "") + std::string(names[i]);
        values += i > 1 ? ", ?" : "?";
    }
    return std::string("INSERT INTO ") + table + " (" + columns + ") VALUES (" + values + ")";
}

std::span<const TableColumns* const> all_tables() {
    static const std::array<const TableColumns*, 9> tables = {&kRunsTable,
                                                              &kScalarsTable,
                                                              &kHistogramsTable,
                                                              &kTensorStatsTable,
                                                              &kEventsTable,
                                                              &kCheckpointsTable,
                                                              &kArtifactsTable,
                                                              &kAlertsTable,
                                                              &kBlockApTable};
    return tables;
}

}  // namespace lowbit::store
