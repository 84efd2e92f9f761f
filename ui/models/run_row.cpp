#include "models/run_row.h"

#include "lowbit/store/run_results.h"

#include <algorithm>
#include <exception>

#include "models/recipe_bits.h"
#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

// The fields read from the record alone (cheap); results come from read_results().
RunRow describe_row(const store::RunRecord& record, const store::LivenessCheck& check) {
    RunRow row;
    row.record = record;
    row.observed = store::observed_status(record, check);
    row.bits = recipe_bits_label(record.recipe_json, record.kind);
    try {
        const auto recipe = nlohmann::json::parse(record.recipe_json);
        // A qat run counts Block-AP and E2E-QP steps, not train.steps; its summary holds the sum.
        if (record.kind != "qat") {
            row.steps_total = recipe.at("train").at("steps").get<int64_t>();
        }
    } catch (const std::exception&) {
        row.steps_total = 0;
    }
    try {
        const auto summary = nlohmann::json::parse(record.summary_json);
        if (record.kind == "qat" && summary.contains("steps") && summary["steps"].is_number()) {
            row.steps_total = summary["steps"].get<int64_t>();
        }
        if (summary.contains("entropy_floor_nats") && summary["entropy_floor_nats"].is_number()) {
            row.entropy_floor = summary["entropy_floor_nats"].get<double>();
        }
    } catch (const std::exception&) {
    }
    if (record.started_at) {
        const double end = record.ended_at                              ? *record.ended_at
                           : record.heartbeat_at                        ? *record.heartbeat_at
                           : row.observed == store::RunStatus::kRunning ? check.now
                                                                        : *record.started_at;
        row.duration_s = std::max(0.0, end - *record.started_at);
    }
    return row;
}

void read_results(const store::RunReader& reader, const store::LivenessCheck& check, RunRow& row) {
    const store::RunResults results = store::run_results(reader, row.record.id);
    row.last_val_loss = results.final_value("val/loss");
    row.best_val_loss = results.best_value("val/loss");
    if (const auto tokens = results.final_value("tokens")) {
        row.tokens_seen = static_cast<int64_t>(*tokens);
    }
    for (const auto& [key, at] : results.final) {
        row.steps_done = std::max(row.steps_done, at.step);
    }
    row.checkpoint_steps.clear();
    for (const auto& checkpoint : reader.checkpoints(row.record.id)) {
        row.checkpoint_steps.push_back(checkpoint.step);
    }
    row.results_read_at = check.now;
}

void copy_results(const RunRow& from, RunRow& to) {
    to.last_val_loss = from.last_val_loss;
    to.best_val_loss = from.best_val_loss;
    to.tokens_seen = from.tokens_seen;
    to.steps_done = from.steps_done;
    to.checkpoint_steps = from.checkpoint_steps;
    to.results_read_at = from.results_read_at;
}

}  // namespace

std::vector<RunRow> read_run_rows(const store::RunReader& reader,
                                  const store::LivenessCheck& check,
                                  const std::vector<RunRow>& previous,
                                  double results_refresh_s) {
    std::vector<RunRow> rows;
    for (const auto& record : reader.list_runs()) {
        const auto old = std::find_if(previous.begin(), previous.end(), [&](const RunRow& r) {
            return r.record.id == record.id;
        });
        RunRow row = describe_row(record, check);
        const bool same_status = old != previous.end() && old->record.status == record.status;
        const bool settled = same_status && store::is_terminal(record.status) &&
                             old->record.ended_at == record.ended_at;
        const bool recent = same_status && check.now - old->results_read_at < results_refresh_s;
        if (settled || recent) {
            copy_results(*old, row);
        } else {
            read_results(reader, check, row);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace lowbit::ui
