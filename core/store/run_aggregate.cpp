// Aggregation of runs over seeds.
#include "lowbit/store/run_aggregate.h"

#include "lowbit/store/run_report.h"
#include "lowbit/store/run_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

namespace lowbit::store {
namespace {

std::optional<uint64_t> recipe_seed(const RunRecord& run) {
    const nlohmann::json recipe = nlohmann::json::parse(run.recipe_json, nullptr, false);
    if (recipe.is_object() && recipe.contains("seed") && recipe["seed"].is_number_unsigned()) {
        return recipe["seed"].get<uint64_t>();
    }
    return std::nullopt;
}

// "gpt2-w8 [quant.weight.bits=8 seed=2]" -> "gpt2-w8 [quant.weight.bits=8]"; "x [seed=2]" -> "x".
std::string strip_seed(const std::string& name) {
    static const std::regex seed_assignment(R"( ?\bseed=[0-9]+)");
    std::string label = std::regex_replace(name, seed_assignment, "");
    static const std::regex empty_brackets(R"( ?\[ *\])");
    label = std::regex_replace(label, empty_brackets, "");
    static const std::regex bracket_space(R"(\[ )");
    return std::regex_replace(label, bracket_space, "[");
}

std::string fixed(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", value);
    return text;
}

}  // namespace

std::string configuration_key(const RunRecord& run) {
    nlohmann::json recipe = nlohmann::json::parse(run.recipe_json, nullptr, false);
    if (recipe.is_discarded() || !recipe.is_object()) {
        return "raw:" + run.recipe_json;
    }
    recipe.erase("seed");
    recipe.erase("name");
    return recipe.dump();
}

std::vector<SeedAggregate> aggregate_over_seeds(const RunReader& reader,
                                                const std::vector<RunRecord>& runs) {
    return aggregate_over_seeds(runs,
                                [&reader](int64_t run_id) { return run_results(reader, run_id); });
}

std::vector<SeedAggregate> aggregate_over_seeds(
    const std::vector<RunRecord>& runs,
    const std::function<RunResults(int64_t run_id)>& results_of) {
    std::vector<RunRecord> oldest_first = runs;
    std::sort(oldest_first.begin(), oldest_first.end(), [](const auto& a, const auto& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
    });
    std::vector<SeedAggregate> aggregates;
    std::map<std::string, size_t> index_of;
    std::vector<std::vector<double>> losses;
    for (const RunRecord& run : oldest_first) {
        const std::string key = configuration_key(run);
        auto [it, inserted] = index_of.emplace(key, aggregates.size());
        if (inserted) {
            aggregates.push_back({});
            aggregates.back().label = strip_seed(run.name);
            losses.emplace_back();
        }
        SeedAggregate& aggregate = aggregates[it->second];
        aggregate.run_ids.push_back(run.id);
        if (const auto seed = recipe_seed(run)) {
            aggregate.seeds.push_back(*seed);
        }
        if (run.status == RunStatus::kCompleted) {
            ++aggregate.completed;
            if (const auto loss = results_of(run.id).final_value("val/loss")) {
                losses[it->second].push_back(*loss);
            }
        } else if (run.status == RunStatus::kDiverged) {
            ++aggregate.diverged;
            if (const auto step = results_of(run.id).diverged_at_step) {
                aggregate.earliest_divergence_step =
                    std::min(aggregate.earliest_divergence_step.value_or(*step), *step);
            }
        } else {
            ++aggregate.other;
        }
    }
    for (size_t i = 0; i < aggregates.size(); ++i) {
        const std::vector<double>& values = losses[i];
        SeedAggregate& aggregate = aggregates[i];
        aggregate.with_val_loss = static_cast<int>(values.size());
        if (values.empty()) {
            continue;
        }
        double mean = 0;
        for (double v : values) {
            mean += v;
        }
        mean /= static_cast<double>(values.size());
        aggregate.mean_val_loss = mean;
        if (values.size() >= 2) {
            double squares = 0;
            for (double v : values) {
                squares += (v - mean) * (v - mean);
            }
            aggregate.sd_val_loss = std::sqrt(squares / static_cast<double>(values.size() - 1));
        }
    }
    return aggregates;
}

std::string format_seed_table(const std::vector<SeedAggregate>& aggregates, bool markdown) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"CONFIGURATION", "RUNS", "DIVERGED", "FINAL VAL LOSS (mean ± sd)"});
    for (const SeedAggregate& a : aggregates) {
        std::string loss = "-";
        if (a.mean_val_loss) {
            loss = fixed(*a.mean_val_loss) +
                   (a.sd_val_loss ? " ± " + fixed(*a.sd_val_loss) : std::string()) +
                   (a.with_val_loss < static_cast<int>(a.run_ids.size())
                        ? " (n=" + std::to_string(a.with_val_loss) + ")"
                        : std::string());
        }
        std::string diverged = std::to_string(a.diverged);
        if (a.earliest_divergence_step) {
            diverged += " (from step " + std::to_string(*a.earliest_divergence_step) + ")";
        }
        rows.push_back({a.label, std::to_string(a.run_ids.size()), diverged, loss});
    }
    std::string text;
    if (markdown) {
        for (size_t r = 0; r < rows.size(); ++r) {
            std::string line = "|";
            for (const std::string& cell : rows[r]) {
                line += " " + cell + " |";
            }
            text += line + "\n";
            if (r == 0) {
                text += "|---|---|---|---|\n";
            }
        }
        return text;
    }
    // Column widths in characters; "±" is two bytes but one column.
    auto display_width = [](const std::string& s) {
        size_t width = 0;
        for (unsigned char c : s) {
            width += (c & 0xC0) != 0x80 ? 1 : 0;
        }
        return width;
    };
    std::vector<size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], display_width(row[c]));
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            line += row[c] + std::string(widths[c] - display_width(row[c]), ' ');
            line += c + 1 < row.size() ? "  " : "";
        }
        line.erase(line.find_last_not_of(' ') + 1);
        text += line + "\n";
    }
    return text;
}

}  // namespace lowbit::store
