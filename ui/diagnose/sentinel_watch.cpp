#include "diagnose/sentinel_watch.h"

#include "lowbit/store/workspace.h"

#include <chrono>
#include <memory>
#include <optional>

namespace lowbit::ui {

namespace {

std::optional<SentinelRule> rule_named(const std::string& name) {
    for (auto rule : {SentinelRule::kNonFinite,
                      SentinelRule::kLossSpike,
                      SentinelRule::kGradNormBlowup,
                      SentinelRule::kClip,
                      SentinelRule::kUnderflow}) {
        if (name == to_string(rule)) {
            return rule;
        }
    }
    return std::nullopt;
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

SentinelWatch::SentinelWatch(SentinelRules rules) : sentinel_(rules) {}

void SentinelWatch::set_rules(const SentinelRules& rules) {
    sentinel_.set_rules(rules);
}

void SentinelWatch::prime(const store::Workspace& workspace, int64_t run_id) {
    if (primed_.insert(run_id).second) {
        for (const auto& alert : store::run_alerts(workspace, run_id)) {
            if (auto rule = rule_named(alert.rule)) {
                sentinel_.mark_fired(run_id, *rule);
            }
        }
    }
}

std::vector<store::AlertRecord> SentinelWatch::poll(const store::Workspace& workspace,
                                                    const store::RunReader& reader,
                                                    const std::vector<RunRow>& rows) {
    std::set<int64_t> running;
    for (const auto& row : rows) {
        if (row.observed == store::RunStatus::kRunning) {
            running.insert(row.record.id);
        }
    }
    // Running now, or running at the last poll: a run that just ended is read once more.
    std::set<int64_t> to_read = running;
    to_read.insert(watched_.begin(), watched_.end());

    std::vector<SentinelAlarm> alarms;
    std::unique_ptr<store::Workspace> writable;
    auto writable_workspace = [&]() -> store::Workspace& {
        if (!writable) {
            writable = std::make_unique<store::Workspace>(store::Workspace::open(workspace.root()));
        }
        return *writable;
    };
    for (int64_t run_id : to_read) {
        auto points = reader.scalars(run_id, {}, scalar_row_id_[run_id]);
        auto stats = reader.tensor_stats(run_id, {}, {}, stats_row_id_[run_id]);
        if (points.empty() && stats.empty()) {
            continue;
        }
        if (!primed_.contains(run_id)) {
            prime(workspace, run_id);
        }
        if (!points.empty()) {
            scalar_row_id_[run_id] = points.back().row_id;
            auto found = sentinel_.observe_scalars(points);
            alarms.insert(alarms.end(), found.begin(), found.end());
        }
        if (!stats.empty()) {
            stats_row_id_[run_id] = stats.back().row_id;
            auto found = sentinel_.observe_stats(stats);
            alarms.insert(alarms.end(), found.begin(), found.end());
        }
    }
    for (int64_t run_id : watched_) {
        if (!running.contains(run_id)) {  // ended and read once more: let it go
            sentinel_.forget_run(run_id);
            primed_.erase(run_id);
            scalar_row_id_.erase(run_id);
            stats_row_id_.erase(run_id);
        }
    }
    watched_ = std::move(running);

    std::vector<store::AlertRecord> alerts;
    for (const auto& alarm : alarms) {
        store::AlertRecord alert;
        alert.run_id = alarm.run_id;
        alert.step = alarm.step;
        alert.rule = to_string(alarm.rule);
        alert.subject = alarm.subject;
        alert.value = alarm.value;
        alert.threshold = alarm.threshold;
        alert.message = alarm.message;
        alert.created_at = unix_now();
        alert.row_id = store::add_run_alert(writable_workspace(), alert);
        alerts.push_back(std::move(alert));
    }
    return alerts;
}

}  // namespace lowbit::ui
