#include "demo/demo_telemetry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

constexpr int kRows = 32, kCols = 128;  // the (rows, cols) view whose rows carry the scales
constexpr int kUniformBins = 64;
constexpr int kLog2Lo = -64, kLog2Bins = 80;  // exponents -64..15

const char* const kLayers[] = {"attn.qkv", "attn.proj", "mlp.fc", "mlp.proj"};

struct KindModel {
    const char* kind;
    const char* granularity;
    double min_range;
};

constexpr KindModel kKinds[] = {{"weight", "per_channel", 1e-5},
                                {"activation", "per_token", 1e-5},
                                {"grad_output", "per_token", 1e-9},
                                {"optim_m", "per_channel", 1e-8},
                                {"optim_v", "per_channel", 1e-8}};

// Values with the shape the kind typically has: W near-normal with a few outliers, A heavy
// tailed and growing, G small, m tiny and centred, v tiny and positive.
std::vector<float> sample(const std::string& kind, double progress, std::mt19937& rng) {
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<float> values(static_cast<size_t>(kRows * kCols));
    for (float& v : values) {
        const double z = normal(rng);
        double x = 0;
        if (kind == "weight") {
            x = 0.02 * (1 + progress) * z * (normal(rng) > 2.6 ? 4.0 : 1.0);
        } else if (kind == "activation") {
            x = (0.5 + progress) * z * std::exp(0.6 * normal(rng));
        } else if (kind == "grad_output") {
            x = 2e-4 * (1.2 - progress) * z * std::exp(0.4 * normal(rng));
        } else if (kind == "optim_m") {
            x = 1e-4 * (1.2 - progress) * z;
        } else {
            x = std::pow(1e-4 * (1.2 - progress) * z, 2.0);
        }
        v = static_cast<float>(x);
    }
    return values;
}

void record(store::RunWriter& writer,
            int64_t run_id,
            int64_t step,
            const std::string& layer,
            const KindModel& model,
            bool quantized,
            int bits,
            const std::vector<float>& x) {
    store::TensorStatsRecord stats;
    stats.run_id = run_id;
    stats.step = step;
    stats.layer = layer;
    stats.tensor_kind = model.kind;
    stats.n = static_cast<int64_t>(x.size());
    stats.min = *std::min_element(x.begin(), x.end());
    stats.max = *std::max_element(x.begin(), x.end());
    double m2 = 0, m4 = 0;
    for (float v : x) {
        stats.sum += v;
        stats.sumsq += static_cast<double>(v) * v;
        stats.zero_count += v == 0.0f ? 1 : 0;
    }
    const double mean = stats.sum / static_cast<double>(stats.n);
    for (float v : x) {
        const double d = v - mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= static_cast<double>(stats.n);
    m4 /= static_cast<double>(stats.n);
    const double sigma = std::sqrt(m2);
    const double nan = std::nan("");
    stats.absmax_over_sigma =
        sigma > 0 ? std::max(std::abs(stats.min), std::abs(stats.max)) / sigma : nan;
    stats.kurtosis = m2 > 0 ? m4 / (m2 * m2) : nan;
    stats.sqnr_db = stats.mse = stats.clip_fraction = stats.underflow_fraction = nan;
    stats.scale_min = stats.scale_max = nan;

    store::HistogramRecord uniform{
        0, run_id, step, layer, model.kind, "uniform", stats.min, stats.max, {}, 0, 0};
    uniform.counts.assign(kUniformBins, 0);
    for (float v : x) {
        const double span = stats.max - stats.min;
        const auto k =
            span > 0 ? static_cast<int64_t>(std::floor((v - stats.min) * kUniformBins / span)) : 0;
        ++uniform.counts[static_cast<size_t>(std::clamp<int64_t>(k, 0, kUniformBins - 1))];
    }

    store::HistogramRecord fixed{0, run_id, step, layer, model.kind, "", 0, 0, {}, 0, 0};
    if (quantized) {
        // Per row, symmetric, reference grid: s = max(max|x|, r_min)/Qp, q = round(x/s) clamped
        // (docs/quantized-pretraining.md §Symmetric and asymmetric scales), float32.
        const int64_t qn = -(int64_t{1} << (bits - 1)), qp = (int64_t{1} << (bits - 1)) - 1;
        stats.quantizer = nlohmann::json{
            {"bits", bits},
            {"granularity", model.granularity},
            {"group_size", 128},
            {"symmetric", true},
            {"grid", "reference"},
            {"rounding", "nearest"},
            {"min_range",
             model.min_range}}.dump();
        stats.qn = qn;
        stats.qp = qp;
        fixed.bin_scheme = "grid";
        fixed.bin_lo = static_cast<double>(qn) - 0.5;
        fixed.bin_hi = static_cast<double>(qp) + 0.5;
        fixed.counts.assign(static_cast<size_t>(qp - qn + 1), 0);
        double noise = 0;
        int64_t underflow = 0;
        stats.scale_min = std::numeric_limits<double>::infinity();
        stats.scale_max = 0;
        for (int r = 0; r < kRows; ++r) {
            const auto row = x.begin() + r * kCols;
            float absmax = 0;
            for (int c = 0; c < kCols; ++c) {
                absmax = std::max(absmax, std::abs(row[c]));
            }
            const float s =
                std::max(absmax, static_cast<float>(model.min_range)) / static_cast<float>(qp);
            stats.scale_min = std::min(stats.scale_min, static_cast<double>(s));
            stats.scale_max = std::max(stats.scale_max, static_cast<double>(s));
            for (int c = 0; c < kCols; ++c) {
                const float code = std::nearbyint(
                    std::clamp(row[c] / s, static_cast<float>(qn), static_cast<float>(qp)));
                const float back = code * s;
                ++fixed.counts[static_cast<size_t>(static_cast<int64_t>(code) - qn)];
                noise += std::pow(static_cast<double>(row[c]) - back, 2.0);
                underflow += row[c] != 0.0f && back == 0.0f ? 1 : 0;
            }
        }
        stats.clip_fraction = 0;  // a symmetric absmax scale clips nothing
        stats.underflow_fraction = static_cast<double>(underflow) / static_cast<double>(stats.n);
        stats.mse = noise / static_cast<double>(stats.n);
        stats.sqnr_db = noise > 0 ? 10 * std::log10(stats.sumsq / noise)
                                  : std::numeric_limits<double>::infinity();
    } else {
        fixed.bin_scheme = "log2";
        fixed.bin_lo = kLog2Lo;
        fixed.bin_hi = kLog2Lo + kLog2Bins;
        fixed.counts.assign(kLog2Bins, 0);
        for (float v : x) {
            if (v == 0.0f) {
                continue;
            }
            const int e = std::ilogb(v) - kLog2Lo;
            if (e < 0) {
                ++fixed.below;
            } else if (e >= kLog2Bins) {
                ++fixed.above;
            } else {
                ++fixed.counts[static_cast<size_t>(e)];
            }
        }
    }
    writer.add_tensor_stats(stats);
    writer.add_histogram(uniform);
    writer.add_histogram(fixed);
}

}  // namespace

void write_demo_telemetry(store::RunWriter& writer,
                          int64_t run_id,
                          int64_t step,
                          double progress,
                          int bits,
                          std::mt19937& rng) {
    for (int block = 0; block < 2; ++block) {
        for (const char* part : kLayers) {
            const std::string layer = "blocks." + std::to_string(block) + "." + part;
            for (const KindModel& model : kKinds) {
                const std::string kind = model.kind;
                const bool quantized = bits <= 8 && (kind == "weight" || kind == "activation" ||
                                                     kind == "grad_output");
                record(writer,
                       run_id,
                       step,
                       layer,
                       model,
                       quantized,
                       bits,
                       sample(kind, progress, rng));
            }
        }
    }
}

}  // namespace lowbit::ui
