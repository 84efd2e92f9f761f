#include "tradeoff/tradeoff_points.h"

#include "lowbit/config/recipe_json.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "models/recipe_bits.h"
#include "models/recipe_footprint.h"
#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

const config::QuantizerSpec& quantizer_of(const config::QuantSpec& quant, TensorKind kind) {
    switch (kind) {
        case TensorKind::kActivation:
            return quant.activation;
        case TensorKind::kGradOutput:
            return quant.grad_output;
        case TensorKind::kOptimM:
            return quant.optim_m;
        case TensorKind::kOptimV:
            return quant.optim_v;
        default:
            return quant.weight;
    }
}

// a dominates b: no worse on both axes and better on one.
bool dominates(const TradeoffPoint& a, const TradeoffPoint& b) {
    return a.x <= b.x && a.y <= b.y && (a.x < b.x || a.y < b.y);
}

}  // namespace

int kind_bits(const config::Recipe& recipe, TensorKind kind) {
    return quantizer_bits(quantizer_of(recipe.quant, kind));
}

std::string kind_bits_label(TensorKind kind, int bits) {
    if (bits >= 32) {
        return "fp32";
    }
    static constexpr const char* kLetters[] = {"W", "A", "G", "m", "v"};
    return kLetters[static_cast<int>(kind)] + std::to_string(bits);
}

std::optional<TradeoffRun> tradeoff_run(const store::RunRecord& record,
                                        const store::RunResults& results,
                                        std::string& reason) {
    // A running, stopped, killed or failed run's last val/loss is where it happened to be, not
    // where its recipe ends: placing it beside finished runs would misstate the trade-off.
    if (record.status != store::RunStatus::kCompleted) {
        reason = std::string("not completed (") + store::to_string(record.status) + ")";
        return std::nullopt;
    }
    const std::optional<double> loss = results.final_value(kTradeoffLossKey);
    if (!loss) {
        reason = std::string("no ") + kTradeoffLossKey + " recorded";
        return std::nullopt;
    }
    if (!std::isfinite(*loss)) {
        reason = std::string("the last ") + kTradeoffLossKey + " is not finite";
        return std::nullopt;
    }
    TradeoffRun run;
    run.run_id = record.id;
    run.name = record.name;
    run.final_val_loss = *loss;
    try {
        run.recipe = config::recipe_from_json(nlohmann::json::parse(record.recipe_json));
    } catch (const std::exception& error) {
        reason = std::string("recipe unreadable: ") + error.what();
        return std::nullopt;
    }
    const RecipeFootprint footprint = recipe_footprint(run.recipe);
    if (footprint.parameters <= 0) {
        reason = "the recipe's model has no parameters";
        return std::nullopt;
    }
    run.bits_per_parameter = 8.0 * static_cast<double>(footprint.weight_bytes_quantized) /
                             static_cast<double>(footprint.parameters);
    run.memory_bytes = footprint.weight_bytes_quantized + footprint.optimizer_bytes_quantized;
    return run;
}

TradeoffRuns read_tradeoff_runs(const store::RunReader& reader) {
    TradeoffRuns out;
    for (const store::RunRecord& record : reader.list_runs()) {
        std::string reason;
        if (auto run = tradeoff_run(record, store::run_results(reader, record.id), reason)) {
            out.runs.push_back(std::move(*run));
        } else {
            out.skipped.push_back({record.id, record.name, reason});
        }
    }
    return out;
}

TradeoffPoint tradeoff_point(const TradeoffRun& run, TradeoffX x, TradeoffY y, TensorKind colour) {
    TradeoffPoint point;
    point.run_id = run.run_id;
    point.name = run.name;
    point.x = x == TradeoffX::kBitsPerParameter ? run.bits_per_parameter
                                                : static_cast<double>(run.memory_bytes) / 1e6;
    point.y = y == TradeoffY::kValLoss ? run.final_val_loss : std::exp(run.final_val_loss);
    point.colour_bits = kind_bits(run.recipe, colour);
    return point;
}

std::vector<TradeoffPoint> pareto_front(const std::vector<TradeoffPoint>& points) {
    std::vector<TradeoffPoint> front;
    for (const TradeoffPoint& candidate : points) {
        const bool dominated =
            std::any_of(points.begin(), points.end(), [&candidate](const TradeoffPoint& other) {
                return dominates(other, candidate);
            });
        if (!dominated) {
            front.push_back(candidate);
        }
    }
    std::stable_sort(
        front.begin(), front.end(), [](const TradeoffPoint& a, const TradeoffPoint& b) {
            return a.x != b.x ? a.x < b.x : a.y < b.y;
        });
    return front;
}

}  // namespace lowbit::ui
