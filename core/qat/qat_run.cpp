// The loop of `lowbit qat` (docs/efficientqat.md §Run record), one readable function with
// labelled phases (inputs / record / blocks / e2e_qp / pack / eval), like the training loop:
// every phase's work is a call into a small file (qat_inputs, block_ap, gptq_block, e2e_qp,
// packed_model, finished_block_file), and what happens is emitted once as typed run events to
// the workspace recorder and the progress sink.
#include "lowbit/qat/qat_run.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/data/sha256.h"
#include "lowbit/dist/run_handoff.h"
#include "lowbit/dist/world.h"
#include "lowbit/eval/perplexity.h"
#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/calibration_share.h"
#include "lowbit/qat/e2e_qp.h"
#include "lowbit/qat/finished_block_file.h"
#include "lowbit/qat/gptq_block.h"
#include "lowbit/qat/packed_model.h"
#include "lowbit/qat/qat_inputs.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/train/device_choice.h"
#include "lowbit/train/replica_sync.h"
#include "lowbit/train/run_recorder.h"
#include "lowbit/util/build_info.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/peak_memory.h"
#include "lowbit/util/process_time.h"
#include "lowbit/util/stop_signal.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace lowbit::qat {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

GroupQuantSpec group_spec(const config::QatSpec& qat) {
    return {.bits = qat.bits, .group_size = qat.group_size};
}

BlockApOptions block_ap_options(const config::QatSpec& qat) {
    BlockApOptions options;
    options.spec = group_spec(qat);
    // RTN is Block-AP without an epoch: the min-max start, finalised and packed.
    options.epochs = qat.method == config::QatMethod::kEfficientQat ? qat.block_ap.epochs : 0;
    options.batch = qat.block_ap.batch;
    options.quant_lr = qat.block_ap.quant_lr;
    options.weight_lr = qat.block_ap.weight_lr;
    options.min_lr_factor = qat.block_ap.min_lr_factor;
    options.weight_decay = qat.block_ap.weight_decay;
    options.train_norms = qat.block_ap.train_norms;
    options.train_weights = qat.block_ap.train_weights;
    options.train_quant_params = qat.block_ap.train_quant_params;
    options.bf16 = qat.block_ap.precision == config::Precision::kBf16;
    return options;
}

E2eQpOptions e2e_qp_options(const config::QatSpec& qat) {
    E2eQpOptions options;
    options.lr = qat.e2e_qp.lr;
    options.warmup_ratio = qat.e2e_qp.warmup_ratio;
    options.grad_clip = qat.e2e_qp.grad_clip;
    options.global_batch = qat.e2e_qp.global_batch;
    options.micro_batch = qat.e2e_qp.micro_batch;
    options.epochs = qat.e2e_qp.epochs;
    return options;
}

// The run's step counter: Block-AP optimizer steps, block after block, then E2E-QP steps.
int64_t steps_per_block(const config::QatSpec& qat) {
    const int epochs = block_ap_options(qat).epochs;
    return epochs * ((qat.block_ap.samples + qat.block_ap.batch - 1) / qat.block_ap.batch);
}

int64_t e2e_qp_steps(const config::QatSpec& qat) {
    return runs_e2e_qp(qat) ? qat.e2e_qp.epochs * (qat.e2e_qp.samples / qat.e2e_qp.global_batch)
                            : 0;
}

std::string default_run_name(const config::Recipe& recipe, const QatInputs& inputs) {
    if (recipe.name != config::Recipe{}.name) {
        return recipe.name;
    }
    const std::string source = inputs.source.run ? inputs.source.run->name
                                                 : inputs.source.checkpoint_dir.filename().string();
    return source + "-" + config::to_string(recipe.qat.method) + "-w" +
           std::to_string(recipe.qat.bits) + "g" + std::to_string(recipe.qat.group_size);
}

fs::path block_file(const fs::path& run_dir, int64_t block) {
    std::string number = std::to_string(block);
    number.insert(0, number.size() < 3 ? 3 - number.size() : 0, '0');
    return run_dir / "blocks" / ("block-" + number + ".safetensors");
}

// The blocks a stopped or killed run finished, read and checked before anything is touched:
// their rows must cover blocks 0, 1, ... in order and each file must match its recorded sha256.
std::vector<FinishedBlock> finished_blocks(const store::RunReader& reader,
                                           const store::Workspace& workspace,
                                           int64_t run_id,
                                           const model::LanguageModelImpl& model,
                                           const GroupQuantSpec& spec) {
    std::vector<FinishedBlock> blocks;
    for (const store::FileRecord& row : reader.checkpoints(run_id)) {
        if (row.kind != "block") {
            continue;
        }
        const fs::path path = workspace.root() / row.path;
        const int64_t index = static_cast<int64_t>(blocks.size());
        if (!fs::is_regular_file(path) || data::sha256_file(path) != row.sha256) {
            throw util::BadInput("run " + std::to_string(run_id) + ": the file of finished block " +
                                 std::to_string(index) + " (" + path.string() +
                                 ") is missing or does not match its recorded sha256");
        }
        blocks.push_back(load_finished_block(path, model, index, spec));
    }
    return blocks;
}

// Rank 0 posts the run under this key for the other ranks of a data-parallel run.
constexpr const char* kQatHandoffKey = "qat_run";

// What every rank knows once the run is started: the recipe, the inputs and the blocks finished
// earlier (a resumed run). Rank 0 also holds the run's stored summary.
struct RunStart {
    config::Recipe recipe;
    QatInputs inputs;
    std::vector<FinishedBlock> done;
    int64_t run_id = 0;
    fs::path run_dir;
    fs::path workspace_root;
    torch::Device device = torch::kCPU;  // this rank's
    bool resumed = false;
    nlohmann::json summary = nlohmann::json::object();
};

// A data-parallel run splits every calibration batch and every E2E-QP batch across the ranks;
// what cannot be split is refused before anything is recorded.
void check_splits(const config::QatSpec& qat, int ranks) {
    if (ranks == 1) {
        return;
    }
    const std::string of = " is smaller than the number of ranks (" + std::to_string(ranks) +
                           "); every rank computes a part of each batch";
    if (qat.block_ap.batch < ranks) {
        throw util::BadInput("qat.block_ap.batch " + std::to_string(qat.block_ap.batch) + of);
    }
    if (qat.block_ap.samples < ranks) {
        throw util::BadInput("qat.block_ap.samples " + std::to_string(qat.block_ap.samples) + of);
    }
    if (qat.block_ap.val_samples < ranks) {
        throw util::BadInput("qat.block_ap.val_samples " +
                             std::to_string(qat.block_ap.val_samples) + of);
    }
    if (runs_e2e_qp(qat) && qat.e2e_qp.global_batch % ranks != 0) {
        throw util::BadInput("qat.e2e_qp.global_batch " + std::to_string(qat.e2e_qp.global_batch) +
                             " does not split into " + std::to_string(ranks) +
                             " equal shares, one per rank; use a multiple of the world size");
    }
}

// The recipe's train.device, or --device; on a GPU node each local rank takes its own device.
torch::Device run_device(const QatRequest& request, const config::Recipe& recipe) {
    return train::resolve_device(request.device.empty()
                                     ? recipe.train.device
                                     : train::device_choice_from_string(request.device),
                                 request.launch);
}

void seed_and_threads(const config::Recipe& recipe) {
    if (recipe.train.threads > 0) {
        at::set_num_threads(recipe.train.threads);
    }
    torch::manual_seed(recipe.seed);
}

// Rank 0 (or the only process): every check on the input before the workspace is created, or a
// run recorded or changed; then the run's record, new or resumed.
RunStart start_run(const QatRequest& request, int ranks) {
    // An existing workspace of an older schema is upgraded first, as every command that writes
    // does, so the checks below can read it.
    if (fs::exists(request.workspace_root / "runs.sqlite")) {
        store::Workspace::open(request.workspace_root);
    }
    RunStart start;
    std::optional<store::RunRecord> resumed;
    start.recipe = request.recipe;
    if (!request.resume_run.empty()) {
        const store::Workspace existing =
            store::Workspace::open(request.workspace_root, store::OpenMode::kReadOnly);
        resumed = store::RunReader(existing).find_run(request.resume_run);
        if (!resumed) {
            throw util::BadInput("no run '" + request.resume_run + "' in " +
                                 existing.database_path().string());
        }
        if (resumed->kind != "qat") {
            throw util::BadInput("run " + std::to_string(resumed->id) + " is a '" + resumed->kind +
                                 "' run; `lowbit qat --resume` continues qat runs");
        }
        if (resumed->status == store::RunStatus::kCompleted) {
            throw util::BadInput("run " + std::to_string(resumed->id) + " already completed");
        }
        try {
            start.recipe = config::recipe_from_json(nlohmann::json::parse(resumed->recipe_json));
        } catch (const std::exception& e) {
            throw util::BadInput("run " + std::to_string(resumed->id) +
                                 ": stored recipe cannot be read (" + e.what() + ")");
        }
    }
    const config::Recipe& recipe = start.recipe;
    check_splits(recipe.qat, ranks);
    start.device = run_device(request, recipe);  // refuses cuda without a GPU before any work
    seed_and_threads(recipe);
    start.inputs = prepare_qat_inputs(recipe, request.workspace_root);
    model::LanguageModelImpl& model = *start.inputs.source.model;

    store::Workspace workspace = store::Workspace::open(request.workspace_root);
    store::RunWriter writer(workspace);
    store::RunReader reader(workspace);
    if (resumed) {
        start.done = finished_blocks(reader, workspace, resumed->id, model, group_spec(recipe.qat));
        start.run_id = resumed->id;
        start.resumed = true;
        start.summary = nlohmann::json::parse(resumed->summary_json, nullptr, false);
        if (!start.summary.is_object()) {
            start.summary = nlohmann::json::object();
        }
    } else {
        store::RunRecord record;
        record.name = request.name.empty() ? default_run_name(recipe, start.inputs) : request.name;
        record.kind = "qat";
        record.status = store::RunStatus::kCreated;
        record.recipe_json = config::recipe_to_json(recipe).dump();
        if (start.inputs.source.run) {
            record.parent_run_id = start.inputs.source.run->id;
        }
        record.tags = request.tags;
        record.group_name = request.group;
        record.host = util::host_name();
        record.build_info_json = util::build_info_json();
        start.run_id = writer.create_run(record);
    }
    start.workspace_root = workspace.root();
    start.run_dir = workspace.run_dir(start.run_id);
    fs::create_directories(start.run_dir / "blocks");
    return start;
}

// The other ranks: the run as rank 0 posted it, the same inputs (read, never written) and the
// finished blocks from the files rank 0 recorded.
RunStart follow_run(const QatRequest& request, dist::World& world) {
    const nlohmann::json handoff = dist::fetch_run_start(world, kQatHandoffKey);
    RunStart start;
    start.recipe = config::recipe_from_json(handoff.at("recipe"));
    start.run_id = handoff.at("run_id").get<int64_t>();
    start.device = run_device(request, start.recipe);
    seed_and_threads(start.recipe);
    start.inputs = prepare_qat_inputs(start.recipe, request.workspace_root);
    const store::Workspace workspace =
        store::Workspace::open(request.workspace_root, store::OpenMode::kReadOnly);
    start.workspace_root = workspace.root();
    start.run_dir = workspace.run_dir(start.run_id);
    start.resumed = handoff.at("resumed").get<bool>();
    const auto finished = handoff.at("finished_blocks").get<std::size_t>();
    if (finished > 0) {
        start.done = finished_blocks(store::RunReader(workspace),
                                     workspace,
                                     start.run_id,
                                     *start.inputs.source.model,
                                     group_spec(start.recipe.qat));
        if (start.done.size() != finished) {
            throw dist::DistributedError("rank " + std::to_string(world.rank()) + ": found " +
                                         std::to_string(start.done.size()) +
                                         " finished blocks of run " + std::to_string(start.run_id) +
                                         ", rank 0 found " + std::to_string(finished));
        }
    }
    return start;
}

}  // namespace

QatOutcome run_qat(const QatRequest& request, events::RunEventSink& progress) {
    // Every rank of a data-parallel run joins first; rank 0 alone checks the input, records the
    // run and hands it to the others (docs/efficientqat.md §Data-parallel runs).
    const std::unique_ptr<dist::World> world =
        dist::World::join(request.launch, request.collective_timeout);
    dist::World* peers = world->size() > 1 ? world.get() : nullptr;
    std::optional<RunStart> start;
    if (world->is_writer()) {
        try {
            start.emplace(start_run(request, world->size()));
        } catch (const std::exception& e) {
            if (peers != nullptr) {
                dist::post_run_failure(*world, kQatHandoffKey, e.what());
            }
            throw;
        }
        if (peers != nullptr) {
            dist::post_run_start(*world,
                                 kQatHandoffKey,
                                 {{"recipe", config::recipe_to_json(start->recipe)},
                                  {"run_id", start->run_id},
                                  {"resumed", start->resumed},
                                  {"finished_blocks", start->done.size()}});
        }
    } else {
        start.emplace(follow_run(request, *world));
    }
    const config::Recipe& recipe = start->recipe;
    const config::QatSpec& qat = recipe.qat;
    QatInputs& inputs = start->inputs;
    const std::vector<FinishedBlock>& done = start->done;
    const torch::Device device = start->device;
    model::LanguageModelImpl& model = *inputs.source.model;
    const int64_t blocks = model.block_count();
    const GroupQuantSpec spec = group_spec(qat);
    const int64_t run_id = start->run_id;
    const fs::path& run_dir = start->run_dir;
    const int64_t block_steps = steps_per_block(qat);
    const int64_t total_steps = block_steps * blocks + e2e_qp_steps(qat);
    const int64_t resume_step = block_steps * static_cast<int64_t>(done.size());

    // ---- record ---- rank 0 only: the recorder and the summary.
    std::optional<store::Workspace> workspace;
    std::optional<store::RunWriter> writer;
    std::optional<train::RunRecorder> recorder;
    events::RunEventStream stream;
    nlohmann::json summary = start->summary;
    // The process group the gradients take (choosing it is collective: every rank asks).
    const std::string gradient_collectives =
        world->group_name_for(torch::zeros({1}, torch::TensorOptions().device(device)));
    if (world->is_writer()) {
        workspace.emplace(store::Workspace::open(request.workspace_root));
        writer.emplace(*workspace, store::kTrainingBatchRows, store::kTrainingBatchAgeS);
        if (start->resumed) {
            // Rows after the last finished block are recomputed by this process.
            writer->truncate_after(run_id, resume_step);
        }
        recorder.emplace(*writer, run_id);
        stream.subscribe(*recorder);
        stream.subscribe(progress);
        summary.update(nlohmann::json{{"parameters", model.parameter_count()},
                                      {"device", device.str()},
                                      {"source", qat.source},
                                      {"source_label", inputs.source_label},
                                      {"method", config::to_string(qat.method)},
                                      {"bits", qat.bits},
                                      {"group_size", qat.group_size},
                                      {"blocks", blocks},
                                      {"calibration_windows", qat.block_ap.samples},
                                      {"validation_windows", qat.block_ap.val_samples},
                                      {"steps", total_steps},
                                      {"world_size", world->size()},
                                      {"launcher", request.launch.launcher}});
        if (world->size() > 1) {
            summary["gradient_collectives"] = gradient_collectives;
        }
        writer->set_summary(run_id, summary.dump());
        writer->attach_process(run_id);
    }
    const auto process_start = Clock::now();
    const double elapsed_before = summary.value("elapsed_s", 0.0);
    auto elapsed = [&] {
        return elapsed_before + std::chrono::duration<double>(Clock::now() - process_start).count();
    };
    if (start->resumed) {
        stream.emit(
            resume_step,
            events::Resumed{
                .run_id = run_id,
                .run_dir = run_dir.string(),
                .device = device.str(),
                .parameters = model.parameter_count(),
                .steps = total_steps,
                .tokens_per_step = 0,
                .checkpoint =
                    done.empty()
                        ? std::string()
                        : fs::relative(block_file(run_dir, static_cast<int64_t>(done.size()) - 1),
                                       start->workspace_root)
                              .string()});
    } else {
        stream.emit(0,
                    events::Started{.run_id = run_id,
                                    .run_dir = run_dir.string(),
                                    .device = device.str(),
                                    .parameters = model.parameter_count(),
                                    .steps = total_steps,
                                    .tokens_per_step = 0,
                                    .init_from = inputs.source.checkpoint_dir.string(),
                                    .parent_run_id = inputs.source.run ? inputs.source.run->id : 0,
                                    .fork_checkpoint = {}});
    }

    QatOutcome outcome;
    outcome.run_id = run_id;
    outcome.run_dir = run_dir;
    int64_t step = resume_step;
    const double cpu_before = summary.value("cpu_s", 0.0);
    auto finish = [&](events::Body terminal) {
        outcome.status = train::status_after(terminal);
        outcome.exit_code =
            outcome.status == store::RunStatus::kDiverged ? util::kExitDiverged : util::kExitOk;
        if (!writer) {
            return outcome;
        }
        summary["elapsed_s"] = elapsed();
        summary["cpu_s"] = cpu_before + util::process_cpu_seconds();
        if (const auto rss = util::peak_resident_bytes()) {
            summary["peak_rss_bytes"] = *rss;
        }
        if (device.is_cuda()) {
            if (const auto peak =
                    util::cuda_peak_allocated_bytes(device.index() < 0 ? 0 : device.index())) {
                summary["cuda_peak_allocated_bytes"] = *peak;
            }
        }
        writer->set_summary(run_id, summary.dump());
        outcome.summary = summary;
        stream.emit(step, std::move(terminal));
        return outcome;
    };

    try {
        // ---- blocks ---- Block-AP (RTN: no epoch; GPTQ: its own update), one block at a time,
        // each rank on its part of every calibration batch.
        const auto blocks_start = Clock::now();
        stream.emit(step,
                    events::Phase{.name = "block_ap",
                                  .blocks = blocks,
                                  .steps = block_steps * blocks,
                                  .elapsed_s = elapsed()});
        model.to(device);
        const BlockApOptions options = block_ap_options(qat);
        const CalibrationShare share =
            calibration_share(qat.block_ap.samples, options.batch, qat.block_ap.val_samples, peers);
        const torch::Tensor train_ids =
            inputs.calibration_train.index_select(0, share.train_rows());
        const torch::Tensor val_ids =
            inputs.calibration_val.slice(0, share.val.first, share.val.first + share.val.count);
        ActivationStreams streams =
            block_zero_inputs(model, train_ids.to(device), val_ids.to(device), options.batch);
        for (int64_t b = 0; b < blocks; ++b) {
            if (b < static_cast<int64_t>(done.size())) {
                install_finished_block(
                    model, done[static_cast<size_t>(b)], &streams, options.batch);
                continue;
            }
            const auto block_start = Clock::now();
            FinishedBlock finished;
            if (qat.method == config::QatMethod::kGptq) {
                finished = gptq_block(model,
                                      b,
                                      streams,
                                      spec,
                                      GptqOptions{.damp_fraction = qat.gptq.damp,
                                                  .act_order = qat.gptq.act_order,
                                                  .block_size = qat.gptq.block_size},
                                      options.batch,
                                      peers);
            } else {
                const int64_t block_first_step = step;
                finished = train_block(
                    model,
                    b,
                    streams,
                    options,
                    [&](const BlockApEpoch& e) {
                        step = block_first_step +
                               (block_steps / std::max(options.epochs, 1)) * e.epoch;
                        stream.emit(step,
                                    events::BlockEpoch{.block = e.block,
                                                       .blocks = blocks,
                                                       .epoch = e.epoch,
                                                       .epochs = options.epochs,
                                                       .train_loss = e.train_loss,
                                                       .val_loss = e.val_loss,
                                                       .quant_lr = e.quant_lr,
                                                       .weight_lr = e.weight_lr,
                                                       .seconds = e.seconds,
                                                       .peak_memory_bytes = e.peak_memory_bytes,
                                                       .elapsed_s = elapsed()});
                    },
                    &share);
            }
            step = block_steps * (b + 1);
            if (peers != nullptr) {
                // The block's weights (W ← Ŵ, so the codes too) and norms, compared across ranks.
                train::check_replicas_identical(*world, model.block(b)->parameters(), step);
            }
            if (writer) {
                const fs::path file = block_file(run_dir, b);
                save_finished_block(finished, spec, file);
                stream.emit(
                    step,
                    events::BlockDone{
                        .block = b,
                        .blocks = blocks,
                        .path = fs::relative(file, workspace->root()).string(),
                        .bytes = static_cast<int64_t>(fs::file_size(file)),
                        .sha256 = data::sha256_file(file),
                        .seconds =
                            std::chrono::duration<double>(Clock::now() - block_start).count(),
                        .elapsed_s = elapsed()});
            }
            // A stop request reaches one process; every rank acts on it after the same block.
            if (b + 1 < blocks && world->any(util::stop_requested())) {
                return finish(events::Stopped{.signal = util::stop_signal_number()});
            }
        }
        streams = ActivationStreams{};  // the calibration activations are no longer needed
        summary["block_phase_seconds"] =
            summary.value("block_phase_seconds", 0.0) +
            std::chrono::duration<double>(Clock::now() - blocks_start).count();

        // ---- e2e_qp ---- only the steps, end to end, each rank on its part of every batch.
        if (runs_e2e_qp(qat)) {
            const auto e2e_start = Clock::now();
            const int64_t first = step;
            const int64_t tokens_per_step =
                static_cast<int64_t>(qat.e2e_qp.global_batch) * qat.e2e_qp.seq_len;
            stream.emit(step,
                        events::Phase{.name = "e2e_qp",
                                      .blocks = blocks,
                                      .steps = e2e_qp_steps(qat),
                                      .elapsed_s = elapsed()});
            const E2eQpEnd end = train_steps_end_to_end(
                model,
                inputs.e2e_windows.to(device),
                e2e_qp_options(qat),
                [&](const E2eQpStep& s) {
                    step = first + s.step;
                    const double seconds = std::max(s.seconds, 1e-9);
                    stream.emit(step,
                                events::Step{.steps = total_steps,
                                             .loss = s.loss,
                                             .lr = s.lr,
                                             .grad_norm = s.grad_norm,
                                             .weight_norm = std::nan(""),
                                             .tokens = s.step * tokens_per_step,
                                             .tokens_per_s = tokens_per_step / seconds,
                                             .eta_s = seconds * (s.total_steps - s.step),
                                             .elapsed_s = elapsed(),
                                             .logged = true});
                },
                [] { return util::stop_requested(); },
                peers);
            if (end == E2eQpEnd::kDiverged) {
                return finish(events::Diverged{.what = "loss"});
            }
            if (end == E2eQpEnd::kStopped) {
                return finish(events::Stopped{.signal = util::stop_signal_number()});
            }
            if (peers != nullptr) {
                std::vector<torch::Tensor> steps;
                for (const auto& layer : packed_layers(model)) {
                    steps.push_back(layer->steps());
                }
                train::check_replicas_identical(*world, steps, step);
            }
            summary["e2e_qp_seconds"] =
                std::chrono::duration<double>(Clock::now() - e2e_start).count();
            summary["e2e_qp_tokens_per_s"] = static_cast<double>(e2e_qp_steps(qat)) *
                                             static_cast<double>(tokens_per_step) /
                                             summary["e2e_qp_seconds"].get<double>();
        }
        if (!writer) {
            // The packed file and the perplexities are rank 0's; the other ranks are done.
            return finish(events::Completed{});
        }

        // ---- pack ---- the packed model file, with its tokenizer beside it.
        std::map<std::string, std::string> metadata;
        if (inputs.source.tokenizer) {
            const std::string saved = inputs.source.tokenizer->save(run_dir);
            metadata[kTokenizerMetadataKey] = saved.empty() ? "byte" : saved;
        }
        metadata["lowbit_source"] = inputs.source_label;
        metadata["lowbit_method"] = config::to_string(qat.method);
        move_model(model, torch::kCPU);
        outcome.packed_model = run_dir / "model.safetensors";
        save_packed_model(model, outcome.packed_model, metadata);
        const PackedSize size = packed_size(model);
        const int64_t file_bytes = static_cast<int64_t>(fs::file_size(outcome.packed_model));
        summary["packed_bytes"] = size.bytes;
        summary["packed_weights"] = size.weights;
        summary["bits_per_param"] =
            8.0 * static_cast<double>(size.bytes) / static_cast<double>(size.weights);
        summary["model_bytes"] = file_bytes;
        stream.emit(step,
                    events::Checkpoint{
                        .path = fs::relative(outcome.packed_model, workspace->root()).string(),
                        .bytes = file_bytes,
                        .sha256 = data::sha256_file(outcome.packed_model),
                        .kind = "packed_model"});

        // ---- eval ---- perplexity on the held-out split and every qat.eval corpus.
        move_model(model, device);
        stream.emit(
            step,
            events::Phase{.name = "eval", .blocks = blocks, .steps = 0, .elapsed_s = elapsed()});
        const int context = model.config().context;
        for (const EvalCorpus& corpus : inputs.eval) {
            const eval::PerplexityResult result = eval::evaluate_perplexity(
                model, corpus.tokens, context, 8, device, config::Precision::kFp32);
            stream.emit(step,
                        events::Perplexity{.corpus = corpus.name,
                                           .path = corpus.path.string(),
                                           .nll = result.mean_nll,
                                           .ppl = result.perplexity,
                                           .tokens = result.scored_tokens});
            if (corpus.name == "val") {
                stream.emit(
                    step,
                    events::Eval{.val_loss = result.mean_nll, .tokens = 0, .elapsed_s = elapsed()});
            }
        }
    } catch (const std::exception& e) {
        // Recorded at the step it happened; if the store itself failed (disk full), the original
        // error is what the user sees.
        try {
            finish(events::Failed{.error = e.what()});
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): report the first error
        }
        throw;
    }
    return finish(events::Completed{});
}

}  // namespace lowbit::qat
