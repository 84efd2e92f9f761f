#include "compare/run_groups.h"

#include "lowbit/config/recipe_schema.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace lowbit::ui {

namespace {

std::string group_value(const CompareRun& run, const std::string& grouping) {
    if (grouping == kGroupBySweep) {
        return run.record.group_name.empty() ? "(no group)" : run.record.group_name;
    }
    const config::FieldSpec* field = config::find_field(grouping);
    if (field == nullptr) {
        return "(unknown key " + grouping + ")";
    }
    if (!run.recipe.recipe) {
        return "(recipe unreadable)";
    }
    return grouping + "=" + config::field_value_yaml(*field, field->get(*run.recipe.recipe));
}

}  // namespace

std::vector<store::SeedAggregate> group_runs(const std::vector<CompareRun>& runs,
                                             const std::string& grouping) {
    if (grouping == kGroupByConfiguration) {
        std::vector<store::RunRecord> records;
        std::map<int64_t, const store::RunResults*> results;
        for (const CompareRun& run : runs) {
            records.push_back(run.record);
            results[run.record.id] = &run.results;
        }
        return store::aggregate_over_seeds(
            records, [&results](int64_t run_id) { return *results.at(run_id); });
    }
    std::vector<const CompareRun*> oldest_first;
    for (const CompareRun& run : runs) {
        oldest_first.push_back(&run);
    }
    std::sort(oldest_first.begin(), oldest_first.end(), [](const auto* a, const auto* b) {
        return a->record.created_at != b->record.created_at
                   ? a->record.created_at < b->record.created_at
                   : a->record.id < b->record.id;
    });
    std::vector<store::SeedAggregate> groups;
    std::vector<std::vector<double>> losses;
    std::map<std::string, size_t> index_of;
    for (const CompareRun* run : oldest_first) {
        const std::string label = group_value(*run, grouping);
        const auto [it, inserted] = index_of.emplace(label, groups.size());
        if (inserted) {
            groups.push_back({});
            groups.back().label = label;
            losses.emplace_back();
        }
        store::SeedAggregate& group = groups[it->second];
        group.run_ids.push_back(run->record.id);
        if (run->recipe.recipe) {
            group.seeds.push_back(run->recipe.recipe->seed);
        }
        if (run->record.status == store::RunStatus::kCompleted) {
            ++group.completed;
            if (const auto loss = run->results.final_value("val/loss")) {
                losses[it->second].push_back(*loss);
            }
        } else if (run->record.status == store::RunStatus::kDiverged) {
            ++group.diverged;
            if (const auto step = run->results.diverged_at_step) {
                group.earliest_divergence_step =
                    std::min(group.earliest_divergence_step.value_or(*step), *step);
            }
        } else {
            ++group.other;
        }
    }
    for (size_t i = 0; i < groups.size(); ++i) {
        const SampleStats stats = sample_stats(losses[i]);
        groups[i].with_val_loss = stats.n;
        if (stats.n > 0) {
            groups[i].mean_val_loss = stats.mean;
        }
        if (std::isfinite(stats.sd)) {
            groups[i].sd_val_loss = stats.sd;
        }
    }
    return groups;
}

}  // namespace lowbit::ui
