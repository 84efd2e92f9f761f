// Text, JSON and CSV views of runs for `lowbit runs list|show|export` and the GUI (torch-free).
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_results.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::store {

// Aligned table, one line per run: id, name, kind, status (a running run whose process is gone
// shows as killed, run_liveness.h), created (local YYYY-MM-DD HH:MM), final train/loss and best
// val/loss from the scalars ("-" when the run has none). Ends with a newline.
std::string format_run_table(const RunReader& reader, const std::vector<RunRecord>& runs);

// Everything `lowbit runs show` prints, as JSON:
//   id, name, kind, status (observed, as in the table), stored_status, group, tags, notes, host,
//   parent_run_id, fork_step, created_at / started_at / ended_at (unix seconds or null),
//   duration_seconds, pid, heartbeat_at, recipe, summary, build_info (parsed JSON; the raw string
//   when it does not parse), and from run_results(): final: {key: {step, value}} for every scalar
//   key, best: {key: {step, value}} (minimum) for keys containing "loss" or "ppl",
//   diverged_at_step, checkpoints: [{step, path, bytes, sha256}], artifacts: [{kind, step, path,
//   bytes, sha256}], event_count.
nlohmann::json run_details_json(const RunReader& reader, const RunRecord& run);

// Human-readable rendering of run_details_json(); tolerates missing fields.
std::string format_run_details(const nlohmann::json& details);

// Wide CSV of a run's scalars: header "step,tokens,wall_time,<keys sorted>", one row per step in
// ascending order, an empty cell where a key has no value at that step. Values use the shortest
// text that reads back to the same double; NaN is written as "nan".
void write_scalars_csv(const RunReader& reader, int64_t run_id, std::ostream& out);

// Local time as "YYYY-MM-DD HH:MM" (empty for 0).
std::string format_local_time(double unix_seconds);

}  // namespace lowbit::store
