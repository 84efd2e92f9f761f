#include "diagnose/divergence_sentinel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lowbit::ui {

namespace {

constexpr const char* kLossKey = "train/loss";
constexpr const char* kGradNormKey = "grad_norm";

std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", value);
    return text;
}

std::string format_percent(double fraction) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%%", 100.0 * fraction);
    return text;
}

struct MeanSd {
    double mean;
    double sd;  // sample standard deviation (n - 1)
};

template <typename Samples>
MeanSd mean_sd(const Samples& samples) {
    double sum = 0;
    for (const auto& s : samples) {
        sum += s.value;
    }
    const double mean = sum / static_cast<double>(samples.size());
    double squares = 0;
    for (const auto& s : samples) {
        squares += (s.value - mean) * (s.value - mean);
    }
    return {mean, std::sqrt(squares / static_cast<double>(samples.size() - 1))};
}

template <typename Samples>
double median(const Samples& samples) {
    std::vector<double> values;
    values.reserve(samples.size());
    for (const auto& s : samples) {
        values.push_back(s.value);
    }
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

const char* to_string(SentinelRule rule) {
    switch (rule) {
        case SentinelRule::kNonFinite:
            return "non_finite";
        case SentinelRule::kLossSpike:
            return "loss_spike";
        case SentinelRule::kGradNormBlowup:
            return "grad_norm_blowup";
        case SentinelRule::kClip:
            return "clip";
        case SentinelRule::kUnderflow:
            return "underflow";
    }
    return "?";
}

DivergenceSentinel::DivergenceSentinel(SentinelRules rules) : rules_(rules) {}

void DivergenceSentinel::set_rules(const SentinelRules& rules) {
    rules_ = rules;
    // A shorter window applies from the next point on: drop what it no longer covers.
    for (auto& [key, window] : windows_) {
        while (static_cast<int>(window.size()) > window_capacity()) {
            window.pop_front();
        }
    }
}

void DivergenceSentinel::mark_fired(int64_t run_id, SentinelRule rule) {
    fired_.insert({run_id, rule});
}

void DivergenceSentinel::forget_run(int64_t run_id) {
    std::erase_if(windows_, [run_id](const auto& entry) { return entry.first.first == run_id; });
    std::erase_if(fired_, [run_id](const auto& entry) { return entry.first == run_id; });
}

bool DivergenceSentinel::fire_once(int64_t run_id, SentinelRule rule) {
    return fired_.insert({run_id, rule}).second;
}

std::vector<SentinelAlarm> DivergenceSentinel::observe_scalars(
    std::span<const store::ScalarPoint> points) {
    std::vector<SentinelAlarm> alarms;
    for (const auto& point : points) {
        Window& window = windows_[{point.run_id, point.key}];
        if (auto alarm = check_point(point, window);
            alarm && fire_once(alarm->run_id, alarm->rule)) {
            alarms.push_back(std::move(*alarm));
        }
    }
    return alarms;
}

std::optional<SentinelAlarm> DivergenceSentinel::check_point(const store::ScalarPoint& point,
                                                             Window& window) {
    // A resumed run records the steps after its checkpoint again: they replace the old ones.
    while (!window.empty() && window.back().step >= point.step) {
        window.pop_back();
    }
    const double x = point.value;
    if (!std::isfinite(x)) {
        if (!rules_.non_finite) {
            return std::nullopt;
        }
        return SentinelAlarm{point.run_id,
                             point.step,
                             SentinelRule::kNonFinite,
                             point.key,
                             x,
                             std::nullopt,
                             point.key + " is " + (std::isnan(x) ? "NaN" : "infinite") +
                                 " at step " + std::to_string(point.step)};
    }
    std::optional<SentinelAlarm> alarm;
    const bool enough = static_cast<int>(window.size()) >= kMinWindowPoints;
    if (enough && rules_.loss_spike && point.key == kLossKey) {
        const auto [mean, sd] = mean_sd(window);
        const double limit = mean + rules_.spike_sigmas * sd;
        if (sd > 0 && x > limit) {
            alarm = SentinelAlarm{
                point.run_id,
                point.step,
                SentinelRule::kLossSpike,
                point.key,
                x,
                limit,
                point.key + " " + format_number(x) + " at step " + std::to_string(point.step) +
                    " is " + format_number((x - mean) / sd) + " sd above the mean " +
                    format_number(mean) + " of the previous " + std::to_string(window.size()) +
                    " points (limit " + format_number(rules_.spike_sigmas) + " sd)"};
        }
    }
    if (enough && rules_.grad_norm_blowup && point.key == kGradNormKey) {
        const double typical = median(window);
        const double limit = rules_.grad_norm_factor * typical;
        if (typical > 0 && x > limit) {
            alarm = SentinelAlarm{
                point.run_id,
                point.step,
                SentinelRule::kGradNormBlowup,
                point.key,
                x,
                limit,
                point.key + " " + format_number(x) + " at step " + std::to_string(point.step) +
                    " is " + format_number(x / typical) + "× the median " + format_number(typical) +
                    " of the previous " + std::to_string(window.size()) + " points (limit " +
                    format_number(rules_.grad_norm_factor) + "×)"};
        }
    }
    window.push_back({point.step, x});
    while (static_cast<int>(window.size()) > window_capacity()) {
        window.pop_front();
    }
    return alarm;
}

std::vector<SentinelAlarm> DivergenceSentinel::observe_stats(
    std::span<const store::TensorStatsRecord> rows) {
    std::vector<SentinelAlarm> alarms;
    auto check = [&](const store::TensorStatsRecord& row,
                     SentinelRule rule,
                     double fraction,
                     double limit,
                     const char* verb) {
        if (fraction > limit && fire_once(row.run_id, rule)) {
            alarms.push_back({row.run_id,
                              row.step,
                              rule,
                              row.layer + " " + row.tensor_kind,
                              fraction,
                              limit,
                              row.layer + " " + row.tensor_kind + " " + verb + " " +
                                  format_percent(fraction) + " of its values at step " +
                                  std::to_string(row.step) + " (limit " + format_percent(limit) +
                                  ")"});
        }
    };
    for (const auto& row : rows) {
        if (!row.quantizer) {
            continue;
        }
        if (rules_.clip) {
            check(row, SentinelRule::kClip, row.clip_fraction, rules_.clip_fraction, "clips");
        }
        if (rules_.underflow) {
            check(row,
                  SentinelRule::kUnderflow,
                  row.underflow_fraction,
                  rules_.underflow_fraction,
                  "rounds to zero");
        }
    }
    return alarms;
}

}  // namespace lowbit::ui
