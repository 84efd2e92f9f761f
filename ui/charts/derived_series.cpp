#include "charts/derived_series.h"

#include <cmath>
#include <cstdio>

#include "charts/ema_smoothing.h"

namespace lowbit::ui {

namespace {

// Walks both series in step order and combines the values at the steps they share.
template <typename Combine>
SeriesPoints at_matching_steps(const SeriesPoints& run,
                               const SeriesPoints& baseline,
                               Combine combine) {
    SeriesPoints out;
    size_t b = 0;
    for (size_t i = 0; i < run.size(); ++i) {
        while (b < baseline.size() && baseline.steps[b] < run.steps[i]) {
            ++b;
        }
        if (b == baseline.size()) {
            break;
        }
        if (baseline.steps[b] != run.steps[i] || !std::isfinite(run.y[i]) ||
            !std::isfinite(baseline.y[b])) {
            continue;
        }
        if (const auto value = combine(run.y[i], baseline.y[b])) {
            out.steps.push_back(run.steps[i]);
            out.x.push_back(run.x[i]);
            out.y.push_back(*value);
        }
    }
    return out;
}

SeriesPoints finite_points(const SeriesPoints& run) {
    SeriesPoints out;
    for (size_t i = 0; i < run.size(); ++i) {
        if (std::isfinite(run.y[i])) {
            out.steps.push_back(run.steps[i]);
            out.x.push_back(run.x[i]);
            out.y.push_back(run.y[i]);
        }
    }
    return out;
}

}  // namespace

std::string derived_kind_name(DerivedKind kind) {
    switch (kind) {
        case DerivedKind::kDifference:
            return "difference";
        case DerivedKind::kRatio:
            return "ratio";
        case DerivedKind::kEma:
            return "ema";
        case DerivedKind::kDerivative:
            return "derivative";
    }
    return {};
}

std::optional<DerivedKind> derived_kind_from_name(std::string_view name) {
    for (auto kind : {DerivedKind::kDifference,
                      DerivedKind::kRatio,
                      DerivedKind::kEma,
                      DerivedKind::kDerivative}) {
        if (name == derived_kind_name(kind)) {
            return kind;
        }
    }
    return std::nullopt;
}

std::string derived_suffix(const DerivedSpec& spec) {
    switch (spec.kind) {
        case DerivedKind::kDifference:
            return "− baseline";
        case DerivedKind::kRatio:
            return "÷ baseline";
        case DerivedKind::kEma: {
            char weight[32];
            std::snprintf(weight, sizeof weight, "EMA %g", spec.weight);
            return weight;
        }
        case DerivedKind::kDerivative:
            return "d/dx";
    }
    return {};
}

SeriesPoints difference_to_baseline(const SeriesPoints& run, const SeriesPoints& baseline) {
    return at_matching_steps(
        run, baseline, [](double y, double base) -> std::optional<double> { return y - base; });
}

SeriesPoints ratio_to_baseline(const SeriesPoints& run, const SeriesPoints& baseline) {
    return at_matching_steps(run, baseline, [](double y, double base) -> std::optional<double> {
        if (base == 0) {
            return std::nullopt;
        }
        return y / base;
    });
}

SeriesPoints ema_series(const SeriesPoints& run, double weight) {
    SeriesPoints out = run;
    out.y = smooth_debiased_ema(run.y, weight);
    return finite_points(out);
}

SeriesPoints derivative_series(const SeriesPoints& run) {
    const SeriesPoints finite = finite_points(run);
    SeriesPoints out;
    const size_t n = finite.size();
    if (n < 2) {
        return out;
    }
    for (size_t i = 0; i < n; ++i) {
        const size_t before = i == 0 ? 0 : i - 1;
        const size_t after = i + 1 == n ? i : i + 1;
        const double dx = finite.x[after] - finite.x[before];
        if (dx == 0) {
            continue;
        }
        out.steps.push_back(finite.steps[i]);
        out.x.push_back(finite.x[i]);
        out.y.push_back((finite.y[after] - finite.y[before]) / dx);
    }
    return out;
}

SeriesPoints derive(const DerivedSpec& spec,
                    const SeriesPoints& run,
                    const SeriesPoints* baseline) {
    switch (spec.kind) {
        case DerivedKind::kDifference:
            return baseline ? difference_to_baseline(run, *baseline) : SeriesPoints{};
        case DerivedKind::kRatio:
            return baseline ? ratio_to_baseline(run, *baseline) : SeriesPoints{};
        case DerivedKind::kEma:
            return ema_series(run, spec.weight);
        case DerivedKind::kDerivative:
            return derivative_series(run);
    }
    return {};
}

}  // namespace lowbit::ui
