// The column list of each workspace table, said once: the writer's INSERT, the reader's SELECT
// and the index of every column come from these lists (private header). The migrations create
// the same columns; store_schema_test checks each list against the migrated database.
// Column 0 of every table is its id, which INSERT leaves to SQLite, so the 1-based bind index of
// a column in an INSERT equals its enum value.
#pragma once

#include <span>
#include <string>

namespace lowbit::store {

struct TableColumns {
    const char* table;
    std::span<const char* const> names;  // names[0] is "id"

    std::string select_sql() const;  // "SELECT id, a, b FROM table "
    std::string insert_sql() const;  // "INSERT INTO table (a, b) VALUES (?, ?)"
};

namespace runs_column {
enum : int {
    kId,
    kName,
    kKind,
    kStatus,
    kRecipeJson,
    kParentRunId,
    kForkStep,
    kTags,
    kNotes,
    kGroupName,
    kCreatedAt,
    kStartedAt,
    kEndedAt,
    kHost,
    kBuildInfoJson,
    kSummaryJson,
    kPid,
    kHeartbeatAt,
};
}  // namespace runs_column

extern const TableColumns kRunsTable;

namespace scalars_column {
enum : int { kId, kRunId, kKey, kStep, kTokens, kWallTime, kValue };
}  // namespace scalars_column

extern const TableColumns kScalarsTable;

namespace histograms_column {
enum : int {
    kId,
    kRunId,
    kStep,
    kLayer,
    kTensorKind,
    kBinScheme,
    kBinLo,
    kBinHi,
    kCounts,
    kBelow,
    kAbove,
};
}  // namespace histograms_column

extern const TableColumns kHistogramsTable;

namespace tensor_stats_column {
enum : int {
    kId,
    kRunId,
    kStep,
    kLayer,
    kTensorKind,
    kQuantizer,
    kQn,
    kQp,
    kN,
    kMin,
    kMax,
    kSum,
    kSumsq,
    kNanCount,
    kInfCount,
    kZeroCount,
    kClippedLow,
    kClippedHigh,
    kSqnrDb,
    kMse,
    kClipFraction,
    kUnderflowFraction,
    kScaleMin,
    kScaleMax,
    kAbsmaxOverSigma,
    kKurtosis,
};
}  // namespace tensor_stats_column

extern const TableColumns kTensorStatsTable;

namespace events_column {
enum : int { kId, kRunId, kStep, kWallTime, kKind, kText };
}  // namespace events_column

extern const TableColumns kEventsTable;

// checkpoints and artifacts share one shape.
namespace files_column {
enum : int { kId, kRunId, kStep, kKind, kPath, kBytes, kSha256, kCreatedAt };
}  // namespace files_column

extern const TableColumns kCheckpointsTable;
extern const TableColumns kArtifactsTable;

namespace alerts_column {
enum : int { kId, kRunId, kStep, kRule, kSubject, kValue, kThreshold, kMessage, kCreatedAt };
}  // namespace alerts_column

extern const TableColumns kAlertsTable;

namespace block_ap_column {
enum : int {
    kId,
    kRunId,
    kStep,
    kBlock,
    kEpoch,
    kTrainLoss,
    kValLoss,
    kQuantLr,
    kWeightLr,
    kSeconds,
    kPeakMemoryBytes,
    kWallTime,
};
}  // namespace block_ap_column

extern const TableColumns kBlockApTable;

// Every table above, for the schema test.
std::span<const TableColumns* const> all_tables();

}  // namespace lowbit::store
