// The telemetry: rows of the schema table (every, steps, bins, kinds) and its cross-key rules:
// kinds must name tensor types of the quant: section, once each; steps must be within the run.
#include "lowbit/config/recipe_schema.h"

#include <algorithm>
#include <set>

#include "key_suggest.h"
#include "schema_rows.h"

namespace lowbit::config::detail {

void add_telemetry_fields(std::vector<FieldSpec>& f) {
    f.push_back(field(
        "telemetry.every",
        [](auto& r) -> auto& { return r.telemetry.every; },
        "Record statistics and histograms every this many steps; 0 = only telemetry.steps",
        at_least(0)));
    f.push_back(field(
        "telemetry.steps",
        [](auto& r) -> auto& { return r.telemetry.steps; },
        "Extra steps to record (1-based, counted after the optimizer step)",
        at_least(1)));
    f.push_back(field(
        "telemetry.bins",
        [](auto& r) -> auto& { return r.telemetry.bins; },
        "Bins of the uniform histogram over each tensor's [min, max]",
        closed(1, 65536)));
    f.push_back(field(
        "telemetry.kinds",
        [](auto& r) -> auto& { return r.telemetry.kinds; },
        "Tensors: weight activation grad_output optim_m optim_v; empty = all"));
}

void check_telemetry(const Recipe& r, std::vector<RecipeProblem>& problems) {
    std::vector<std::string> names;
    for (const QuantTensorSpec& t : quant_tensors()) {
        names.push_back(t.name);
    }
    std::set<std::string> seen;
    for (const std::string& kind : r.telemetry.kinds) {
        if (std::find(names.begin(), names.end(), kind) == names.end()) {
            const std::string nearest = nearest_word(kind, names);
            problems.push_back({"telemetry.kinds",
                                "",
                                "'" + kind + "' is not a tensor kind" +
                                    (nearest.empty() ? "" : "; did you mean '" + nearest + "'?") +
                                    " (expected some of: weight, activation, grad_output, "
                                    "optim_m, optim_v)",
                                false});
        } else if (!seen.insert(kind).second) {
            problems.push_back({"telemetry.kinds",
                                "",
                                "'" + kind + "' is listed twice (expected each kind once)",
                                false});
        }
    }
    for (const int64_t step : r.telemetry.steps) {
        if (step > r.train.steps) {
            // Reported only when telemetry.steps is written (only_if_given), like warmup_steps.
            problems.push_back({"telemetry.steps",
                                "train.steps",
                                std::to_string(step) + " is after the last step, train.steps (" +
                                    std::to_string(r.train.steps) +
                                    ") (expected steps <= train.steps)",
                                true});
            break;
        }
    }
}

}  // namespace lowbit::config::detail
