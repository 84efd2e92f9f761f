#include "qat/qat_phase.h"

#include "lowbit/config/recipe_json.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "qat/qat_results.h"
#include <nlohmann/json.hpp>

namespace lowbit::ui {

std::optional<double> QatPhaseData::loss_at(int64_t block, int epoch, bool validation) const {
    for (const store::BlockApRecord& row : epoch_rows) {
        if (row.block == block && row.epoch == epoch) {
            const double value = validation ? row.val_loss : row.train_loss;
            return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
        }
    }
    return std::nullopt;
}

QatPhaseData read_qat_phase(const store::RunReader& reader, int64_t run_id) {
    QatPhaseData data;
    const std::optional<store::RunRecord> run = reader.find_run(run_id);
    if (!run) {
        return data;
    }
    data.run_id = run_id;
    data.method = qat_method_label(run->recipe_json);
    data.status = run->status;
    try {
        const config::Recipe recipe =
            config::recipe_from_json(nlohmann::json::parse(run->recipe_json));
        data.bits = recipe.qat.bits;
        data.group_size = recipe.qat.group_size;
        data.epochs =
            recipe.qat.method == config::QatMethod::kEfficientQat ? recipe.qat.block_ap.epochs : 0;
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): shown without a grid
    }
    data.epoch_rows = reader.block_ap(run_id);

    const nlohmann::json summary = nlohmann::json::parse(run->summary_json, nullptr, false);
    if (summary.is_object() && summary.contains("blocks") && summary["blocks"].is_number()) {
        data.blocks = summary["blocks"].get<int64_t>();
    }
    if (summary.is_object() && summary.contains("world_size") &&
        summary["world_size"].is_number_integer()) {
        data.ranks = summary["world_size"].get<int>();
    }
    // Phase starts: the event's text begins with the phase's name ("block_ap, 8 blocks, ...").
    double phase_start_time = 0;
    for (const store::EventRecord& event : reader.events(run_id)) {
        if (event.kind != "phase") {
            continue;
        }
        const std::string name = event.text.substr(0, event.text.find(','));
        data.phases.push_back({event.step, name});
        if (name == "block_ap") {
            phase_start_time = event.wall_time;
        }
    }
    // Each finished block: a checkpoint row of kind "block"; its time runs from the previous
    // one's (a resumed run's first new block also counts the restart).
    double previous = phase_start_time;
    for (const store::FileRecord& file : reader.checkpoints(run_id)) {
        if (file.kind != "block") {
            continue;
        }
        QatBlockTime block;
        block.block = static_cast<int64_t>(data.finished.size());
        block.step = file.step;
        block.seconds = previous > 0 ? std::max(0.0, file.created_at - previous) : 0.0;
        previous = file.created_at;
        for (const store::BlockApRecord& row : data.epoch_rows) {
            if (row.block == block.block) {
                block.peak_memory_bytes =
                    std::max(block.peak_memory_bytes.value_or(0), row.peak_memory_bytes);
            }
        }
        data.finished.push_back(block);
    }
    data.blocks = std::max<int64_t>(data.blocks, static_cast<int64_t>(data.finished.size()));
    for (const store::ScalarPoint& point : reader.scalars(run_id, "train/loss")) {
        data.e2e_loss.emplace_back(point.step, point.value);
    }
    return data;
}

}  // namespace lowbit::ui
