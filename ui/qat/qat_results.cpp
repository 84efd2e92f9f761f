#include "qat/qat_results.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/store/run_results.h"

#include <algorithm>
#include <exception>
#include <set>

#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

constexpr const char* kEvalPrefix = "eval/";
constexpr const char* kPplSuffix = "/ppl";

int method_order(const std::string& method) {
    static const std::vector<std::string> order = {
        "FP", "RTN", "GPTQ", "Block-AP", "Block-AP + E2E-QP"};
    const auto it = std::find(order.begin(), order.end(), method);
    return static_cast<int>(it - order.begin());
}

// Final eval/<corpus>/ppl of a run, by corpus.
std::map<std::string, double> perplexities(const store::RunResults& results) {
    std::map<std::string, double> by_corpus;
    const std::string prefix = kEvalPrefix;
    const std::string suffix = kPplSuffix;
    for (const auto& [key, metric] : results.final) {
        if (key.size() > prefix.size() + suffix.size() && key.starts_with(prefix) &&
            key.ends_with(suffix)) {
            by_corpus[key.substr(prefix.size(), key.size() - prefix.size() - suffix.size())] =
                metric.value;
        }
    }
    return by_corpus;
}

template <typename T>
std::optional<T> summary_value(const nlohmann::json& summary, const char* key) {
    if (summary.is_object() && summary.contains(key) && summary[key].is_number()) {
        return summary[key].get<T>();
    }
    return std::nullopt;
}

QatResultRow row_of(const store::RunReader& reader, const store::RunRecord& run) {
    QatResultRow row;
    row.run_id = run.id;
    row.name = run.name;
    row.status = store::to_string(run.status);
    row.perplexity = perplexities(store::run_results(reader, run.id));
    const nlohmann::json summary = nlohmann::json::parse(run.summary_json, nullptr, false);
    row.seconds = summary_value<double>(summary, "elapsed_s");
    if (!row.seconds && run.started_at && run.ended_at) {
        row.seconds = *run.ended_at - *run.started_at;  // a training run's summary has no time
    }
    row.peak_rss_bytes = summary_value<int64_t>(summary, "peak_rss_bytes");
    if (run.kind == "qat") {
        row.method = qat_method_label(run.recipe_json);
        try {
            const config::Recipe recipe =
                config::recipe_from_json(nlohmann::json::parse(run.recipe_json));
            row.bits = recipe.qat.bits;
            row.group_size = recipe.qat.group_size;
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): shown without a grid
        }
        row.bits_per_weight = summary_value<double>(summary, "bits_per_param");
        row.packed_bytes = summary_value<int64_t>(summary, "packed_bytes");
        row.model_bytes = summary_value<int64_t>(summary, "model_bytes");
    } else {
        row.method = "FP";
        row.bits_per_weight = 32.0;
    }
    return row;
}

}  // namespace

std::string qat_method_label(const std::string& recipe_json) {
    try {
        const config::Recipe recipe = config::recipe_from_json(nlohmann::json::parse(recipe_json));
        switch (recipe.qat.method) {
            case config::QatMethod::kRtn:
                return "RTN";
            case config::QatMethod::kGptq:
                return "GPTQ";
            case config::QatMethod::kEfficientQat:
                return recipe.qat.e2e_qp.epochs > 0 ? "Block-AP + E2E-QP" : "Block-AP";
        }
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): an unreadable recipe
    }
    return {};
}

std::vector<std::pair<int64_t, std::string>> qat_sources(const store::RunReader& reader) {
    const std::vector<store::RunRecord> runs = reader.list_runs();
    std::set<int64_t> parents;
    for (const store::RunRecord& run : runs) {
        if (run.kind == "qat" && run.parent_run_id) {
            parents.insert(*run.parent_run_id);
        }
    }
    std::vector<std::pair<int64_t, std::string>> sources;
    for (const store::RunRecord& run : runs) {
        if (parents.contains(run.id)) {
            sources.emplace_back(run.id, run.name);
        }
    }
    return sources;
}

QatResults read_qat_results(const store::RunReader& reader, int64_t source_run_id) {
    QatResults results;
    results.source_run_id = source_run_id;
    const std::optional<store::RunRecord> source = reader.find_run(source_run_id);
    if (!source) {
        return results;
    }
    results.source_name = source->name;
    results.rows.push_back(row_of(reader, *source));
    for (const store::RunRecord& run : reader.list_runs()) {
        if (run.kind == "qat" && run.parent_run_id == source_run_id) {
            results.rows.push_back(row_of(reader, run));
        }
    }
    std::stable_sort(results.rows.begin() + 1,
                     results.rows.end(),
                     [](const QatResultRow& a, const QatResultRow& b) {
                         if (a.bits != b.bits) {
                             return a.bits > b.bits;
                         }
                         if (a.group_size != b.group_size) {
                             return a.group_size > b.group_size;
                         }
                         if (method_order(a.method) != method_order(b.method)) {
                             return method_order(a.method) < method_order(b.method);
                         }
                         return a.run_id < b.run_id;
                     });
    // The FP row's block linears in fp32: the weights the quantized rows packed, 4 bytes each.
    for (const store::RunRecord& run : reader.list_runs()) {
        if (run.kind != "qat" || run.parent_run_id != source_run_id) {
            continue;
        }
        const nlohmann::json summary = nlohmann::json::parse(run.summary_json, nullptr, false);
        if (const auto weights = summary_value<int64_t>(summary, "packed_weights")) {
            results.rows.front().packed_bytes = *weights * 4;
            break;
        }
    }
    std::set<std::string> corpora;
    for (const QatResultRow& row : results.rows) {
        for (const auto& [corpus, value] : row.perplexity) {
            corpora.insert(corpus);
        }
    }
    if (corpora.erase("val") > 0) {
        results.corpora.push_back("val");
    }
    results.corpora.insert(results.corpora.end(), corpora.begin(), corpora.end());
    return results;
}

}  // namespace lowbit::ui
