#include "histograms/histogram_math.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

struct KindName {
    const char* kind;
    const char* short_name;
};

constexpr KindName kKinds[] = {
    {"weight", "W"}, {"activation", "A"}, {"grad_output", "G"}, {"optim_m", "m"}, {"optim_v", "v"}};

}  // namespace

std::string QuantizerInfo::describe() const {
    std::string text = std::to_string(bits) + "-bit";
    if (!granularity.empty()) {
        text += " " + granularity;
        if (granularity == "per_group" || granularity == "per_block") {
            text += " of " + std::to_string(group_size);
        }
    }
    text += symmetric ? " symmetric" : " asymmetric";
    if (!grid.empty()) {
        text += ", " + grid + " grid";
    }
    return text;
}

std::optional<QuantizerInfo> quantizer_of(const store::TensorStatsRecord& stats) {
    if (!stats.quantizer || !stats.qn || !stats.qp) {
        return std::nullopt;
    }
    QuantizerInfo info;
    info.qn = *stats.qn;
    info.qp = *stats.qp;
    const auto json = nlohmann::json::parse(*stats.quantizer, nullptr, false);
    if (json.is_object()) {
        info.bits = json.value("bits", 0);
        info.granularity = json.value("granularity", std::string());
        info.group_size = json.value("group_size", int64_t{0});
        info.symmetric = json.value("symmetric", true);
        info.grid = json.value("grid", std::string());
    }
    if (info.bits <= 0) {
        // Recorded before schema 3 ("{}"): 2^bits codes span qn..qp.
        const double codes = static_cast<double>(info.qp - info.qn + 1);
        info.bits = static_cast<int>(std::lround(std::log2(std::max(codes, 2.0))));
    }
    return info;
}

std::optional<QuantizerOverlay> quantizer_overlay(const store::TensorStatsRecord& stats) {
    const auto info = quantizer_of(stats);
    if (!info || !(stats.scale_min > 0) || !(stats.scale_max > 0) || info->qp < info->qn) {
        return std::nullopt;
    }
    QuantizerOverlay overlay;
    overlay.scale_min = stats.scale_min;
    overlay.scale_max = stats.scale_max;
    overlay.single_scale = stats.scale_min == stats.scale_max;
    auto levels_at = [&](double scale, int64_t z) {
        std::vector<double> levels;
        levels.reserve(static_cast<size_t>(info->qp - info->qn + 1));
        const float s = static_cast<float>(scale);
        for (int64_t q = info->qn; q <= info->qp; ++q) {
            // x̂ = (q + z)·s in float32, as the quantizer dequantizes.
            levels.push_back(static_cast<double>(static_cast<float>(q + z) * s));
        }
        return levels;
    };
    if (overlay.single_scale) {
        int64_t z = 0;
        if (!info->symmetric) {
            // z = round(min/s − qn): float32 division, round half to even (std::nearbyint in
            // the default rounding mode), docs/quantized-pretraining.md §Linear quantization.
            const float ratio = static_cast<float>(stats.min) / static_cast<float>(stats.scale_min);
            z = static_cast<int64_t>(std::nearbyint(ratio - static_cast<float>(info->qn)));
        }
        overlay.zero_offset = z;
        overlay.levels = levels_at(stats.scale_min, z);
    } else if (info->symmetric) {
        overlay.levels = levels_at(stats.scale_min, 0);
        overlay.coarse_levels = levels_at(stats.scale_max, 0);
    }
    if (!overlay.levels.empty()) {
        const auto& outer = overlay.coarse_levels.empty() ? overlay.levels : overlay.coarse_levels;
        overlay.clip_lo = outer.front();
        overlay.clip_hi = outer.back();
    } else {
        // Several asymmetric scales: each group's grid spans about its own [min, max], so the
        // tensor's finite range is the widest clip range.
        overlay.clip_lo = stats.min;
        overlay.clip_hi = stats.max;
    }
    return overlay;
}

double histogram_percentile(const std::vector<int64_t>& counts,
                            double lo,
                            double hi,
                            double fraction) {
    const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
    if (total <= 0 || counts.empty()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double width = (hi - lo) / static_cast<double>(counts.size());
    const double target = std::clamp(fraction, 0.0, 1.0) * static_cast<double>(total);
    double below = 0;
    for (size_t k = 0; k < counts.size(); ++k) {
        const auto count = static_cast<double>(counts[k]);
        if (count > 0 && below + count >= target) {
            const double inside = (target - below) / count;
            return lo + (static_cast<double>(k) + inside) * width;
        }
        below += count;
    }
    return hi;
}

std::vector<double> rebin_uniform(const std::vector<int64_t>& counts,
                                  double lo,
                                  double hi,
                                  double to_lo,
                                  double to_hi,
                                  int bins) {
    std::vector<double> out(static_cast<size_t>(std::max(bins, 1)), 0.0);
    const double to_width = (to_hi - to_lo) / static_cast<double>(out.size());
    if (counts.empty() || !(to_width > 0)) {
        return out;
    }
    auto target_bin = [&](double x) {
        const auto k = static_cast<int64_t>(std::floor((x - to_lo) / to_width));
        return static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(out.size()) - 1));
    };
    const double width = (hi - lo) / static_cast<double>(counts.size());
    for (size_t k = 0; k < counts.size(); ++k) {
        const auto count = static_cast<double>(counts[k]);
        if (count == 0) {
            continue;
        }
        const double a = lo + static_cast<double>(k) * width;
        const double b = a + width;
        if (!(width > 0)) {  // a constant tensor: everything at one value
            out[target_bin(a)] += count;
            continue;
        }
        for (size_t t = target_bin(a); t <= target_bin(b) && t < out.size(); ++t) {
            const double t_lo = to_lo + static_cast<double>(t) * to_width;
            const double overlap = std::min(b, t_lo + to_width) - std::max(a, t_lo);
            if (overlap > 0) {
                out[t] += count * overlap / width;
            }
        }
    }
    return out;
}

double heatmap_cell_value(int64_t count) {
    return std::log10(1.0 + static_cast<double>(std::max<int64_t>(count, 0)));
}

const std::vector<std::string>& tensor_kinds() {
    static const std::vector<std::string> kinds = [] {
        std::vector<std::string> names;
        for (const auto& entry : kKinds) {
            names.emplace_back(entry.kind);
        }
        return names;
    }();
    return kinds;
}

std::string tensor_kind_short(const std::string& kind) {
    for (const auto& entry : kKinds) {
        if (kind == entry.kind) {
            return entry.short_name;
        }
    }
    return kind;
}

std::optional<std::string> tensor_kind_from_text(const std::string& text) {
    for (const auto& entry : kKinds) {
        if (text == entry.kind || text == entry.short_name) {
            return std::string(entry.kind);
        }
    }
    return std::nullopt;
}

std::string layer_group(const std::string& layer) {
    // "blocks.<n>.<rest>": the block is the first two parts when the second is a number.
    const auto first = layer.find('.');
    if (first == std::string::npos) {
        return {};
    }
    const auto second = layer.find('.', first + 1);
    if (second == std::string::npos) {
        return {};
    }
    const std::string index = layer.substr(first + 1, second - first - 1);
    const bool numeric = !index.empty() && std::all_of(index.begin(), index.end(), [](char c) {
        return c >= '0' && c <= '9';
    });
    return numeric ? layer.substr(0, second) : std::string();
}

bool natural_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) &&
            std::isdigit(static_cast<unsigned char>(b[j]))) {
            size_t ei = i, ej = j;
            while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) {
                ++ei;
            }
            while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) {
                ++ej;
            }
            const auto na = std::stoll(a.substr(i, ei - i));
            const auto nb = std::stoll(b.substr(j, ej - j));
            if (na != nb) {
                return na < nb;
            }
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) {
            return a[i] < b[j];
        }
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

}  // namespace lowbit::ui
