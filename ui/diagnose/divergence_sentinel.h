// The divergence sentinel's rules (docs/studio.md §Divergence sentinel): evaluated on a run's
// scalars and quantization statistics as they arrive, so a run that is going wrong is flagged
// while it trains. Plain class, no Qt: the workspace worker feeds it new rows, the tests feed it
// synthetic series.
#pragma once

#include "lowbit/store/records.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::ui {

// Which rules run and their thresholds; the studio keeps them in its settings.
struct SentinelRules {
    bool non_finite = true;  // a NaN or Inf in any scalar
    bool loss_spike = true;  // train/loss above mean + k·sd of the trailing window
    double spike_sigmas = 6.0;
    bool grad_norm_blowup = true;  // grad_norm above factor × the trailing window's median
    double grad_norm_factor = 10.0;
    int window = 50;   // points of the trailing window; the rules above need at least 10
    bool clip = true;  // a quantized tensor clipping more than this fraction of its values
    double clip_fraction = 0.05;
    // Off by default: 4-bit quantizers round a large share of small values to zero by design.
    bool underflow = false;
    double underflow_fraction = 0.5;
    bool stop_run = false;  // stop the run (SIGTERM: it checkpoints) on its first alert

    bool operator==(const SentinelRules&) const = default;
};

// The rules by their stored names: non_finite, loss_spike, grad_norm_blowup, clip, underflow.
enum class SentinelRule { kNonFinite, kLossSpike, kGradNormBlowup, kClip, kUnderflow };
const char* to_string(SentinelRule rule);

struct SentinelAlarm {
    int64_t run_id = 0;
    int64_t step = 0;
    SentinelRule rule = SentinelRule::kNonFinite;
    std::string subject;              // the scalar key, or "layer kind"
    double value = 0;                 // what was seen (NaN/Inf for non_finite)
    std::optional<double> threshold;  // the limit crossed, in the value's units
    std::string message;              // one line for a person
};

class DivergenceSentinel {
public:
    static constexpr int kMinWindowPoints = 10;

    explicit DivergenceSentinel(SentinelRules rules = {});

    const SentinelRules& rules() const {
        return rules_;
    }

    void set_rules(const SentinelRules& rules);

    // New scalar rows of one or several runs, in row order (RunReader::scalars since a row id).
    // Each rule fires at most once per run: the first time it is broken.
    std::vector<SentinelAlarm> observe_scalars(std::span<const store::ScalarPoint> points);
    // New statistics rows (RunReader::tensor_stats since a row id); unquantized tensors are
    // skipped.
    std::vector<SentinelAlarm> observe_stats(std::span<const store::TensorStatsRecord> rows);

    // The rule has already fired for the run (e.g. an alert stored by an earlier session): it
    // does not fire again.
    void mark_fired(int64_t run_id, SentinelRule rule);
    void forget_run(int64_t run_id);

private:
    struct Sample {
        int64_t step;
        double value;
    };

    using Window = std::deque<Sample>;

    std::optional<SentinelAlarm> check_point(const store::ScalarPoint& point, Window& window);
    bool fire_once(int64_t run_id, SentinelRule rule);

    // Points kept per key: the rules' window, and never fewer than the rules need.
    int window_capacity() const {
        return std::max(rules_.window, kMinWindowPoints);
    }

    SentinelRules rules_;
    std::map<std::pair<int64_t, std::string>, Window> windows_;  // (run, key): finite values
    std::set<std::pair<int64_t, SentinelRule>> fired_;
};

}  // namespace lowbit::ui
