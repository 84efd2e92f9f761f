// Building a RunContext for a new or resumed run (see run_context.h): resolve the device, prepare
// (or reuse) the token shards, build the model and optimizer, and restore checkpoint state.
#include "lowbit/train/run_context.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/dist/run_handoff.h"
#include "lowbit/io/model_state.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/train/adamw.h"
#include "lowbit/train/device_choice.h"
#include "lowbit/train/fork_point.h"
#include "lowbit/train/make_optimizer.h"
#include "lowbit/train/quantized_adamw.h"
#include "lowbit/util/build_info.h"
#include "lowbit/util/exit_codes.h"

#include <ATen/Context.h>

#include <algorithm>

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

// Opens the shards, builds samplers, the model (seeded) and the optimizer. A data-parallel job
// splits every global batch into equal shares of rows (docs/distributed.md §Batches), so the
// batch must divide by the number of ranks, and a share into passes of train.rows_per_pass;
// checked here, before anything is recorded.
void build_components(RunContext& run,
                      const fs::path& workspace_root,
                      const dist::LaunchEnvironment& launch,
                      dist::World& world) {
    const config::Recipe& recipe = run.recipe;
    if (recipe.train.batch_size % launch.world_size != 0) {
        throw util::BadInput("train.batch_size " + std::to_string(recipe.train.batch_size) +
                             " does not split into " + std::to_string(launch.world_size) +
                             " equal shares, one per rank; use a multiple of the world size");
    }
    // A pass never holds more than a rank's share (docs/training.md §Passes).
    const int rows_per_rank = recipe.train.batch_size / launch.world_size;
    const int rows_per_pass = recipe.train.rows_per_pass;
    run.rows_per_pass = rows_per_pass > 0 ? std::min(rows_per_pass, rows_per_rank) : rows_per_rank;
    if (rows_per_rank % run.rows_per_pass != 0) {
        throw util::BadInput("train.rows_per_pass " + std::to_string(rows_per_pass) +
                             " does not divide the " + std::to_string(rows_per_rank) +
                             " rows of each rank's share of train.batch_size " +
                             std::to_string(recipe.train.batch_size) + "; use a divisor of " +
                             std::to_string(rows_per_rank));
    }
    if (recipe.train.threads > 0) {
        at::set_num_threads(recipe.train.threads);
    }
    run.device = resolve_device(recipe.train.device, launch);
    run.data = data::prepare_corpus_cached(recipe.data, workspace_root / "cache" / "data");
    run.train_shard =
        std::make_unique<data::TokenShard>(data::TokenShard::open(run.data.train_path));
    run.val_shard = std::make_unique<data::TokenShard>(data::TokenShard::open(run.data.val_path));
    const int context = recipe.model.context;
    run.train_sampler =
        std::make_unique<data::BatchSampler>(*run.train_shard, context, recipe.seed);
    run.val_sampler = std::make_unique<data::BatchSampler>(*run.val_shard, context, recipe.seed);
    const data::ShardMeta& meta = run.train_shard->meta();
    run.tokenizer_info = {{"kind", meta.tokenizer}, {"vocab_size", meta.vocab_size}};
    if (!meta.tokenizer_model.empty()) {
        run.tokenizer_model = run.data.dir / meta.tokenizer_model;
        run.tokenizer_info["model"] = "tokenizer.model";
    }
    run.entropy_floor = meta.entropy_rate_nats_per_token;

    const model::ModelConfig model_config =
        model::model_config_from_spec(recipe.model, meta.vocab_size);
    run.model = model::create_model(model_config, recipe.seed);
    run.model->to(run.device);
    run.model->train();
    // Quantizers of every linear (quant: section); its errors (BadInput) come before the run is
    // recorded. The optimizer's m/v quantizers are in run.model->quant_plan().
    quant::QuantPlan plan = quant::resolve_quant_plan(recipe, *run.model);
    run.model->set_quant_plan(std::make_shared<const quant::QuantPlan>(std::move(plan)));
    // AdamW, or QuantizedAdamW with low-bit stored moments when the plan quantizes m or v.
    run.optimizer = make_optimizer(recipe, *run.model, &world);
    // Dropout draws from the default generator; seed it so runs are reproducible.
    torch::manual_seed(recipe.seed);
}

// The model keys on which a checkpoint's model and the one `run` built disagree ("" if none):
// a fork changes how a model is trained, not the model. Dropout is training, and the
// initialisation is replaced by the checkpoint's weights.
std::string model_mismatch(const nlohmann::json& saved, const nlohmann::json& built) {
    std::string differences;
    for (const auto& [key, value] : built.items()) {
        if (key == "dropout" || key == "init_std") {
            continue;
        }
        const auto found = saved.find(key);
        if (found == saved.end() || *found != value) {
            differences += (differences.empty() ? "" : ", ") + key + " " +
                           (found == saved.end() ? std::string("missing") : found->dump()) +
                           " there, " + value.dump() + " here";
        }
    }
    return differences;
}

// Loads a checkpoint's optimizer state into an optimizer whose state formats may differ. A
// QuantizedAdamW converts by itself (through float32 when the encodings differ); a float32 AdamW
// reads only float moments, so quantized ones are first dequantized by a QuantizedAdamW over the
// same parameters that keeps every moment in float32 (docs/quantized-pretraining.md §Forking a
// run).
void load_optimizer_state_converted(RunContext& run, const OptimizerState& state) {
    const bool has_codes = std::any_of(state.begin(), state.end(), [](const auto& entry) {
        return entry.first.ends_with(".codes");
    });
    if (!has_codes || !keeps_float_moments(*run.optimizer)) {
        run.optimizer->load_state(state);
        return;
    }
    std::vector<QuantizedAdamWParam> parameters;
    for (const auto& item : run.model->named_parameters()) {
        parameters.push_back({item.key(), item.value(), std::nullopt, std::nullopt});
    }
    QuantizedAdamW float_moments(std::move(parameters), adamw_options(run.recipe.train));
    float_moments.load_state(state);
    run.optimizer->load_state(float_moments.state());
}

// Records a new run (status created) for `run`'s recipe, a fork's lineage with it, and makes its
// folder; run.run_id and run.run_dir are set.
void record_new_run(RunContext& run,
                    const std::string& name,
                    const TrainRequest& request,
                    const std::optional<ForkPoint>& fork,
                    store::Workspace& workspace,
                    store::RunWriter& writer) {
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.status = store::RunStatus::kCreated;
    record.recipe_json = config::recipe_to_json(run.recipe).dump();
    if (fork) {
        record.parent_run_id = fork->parent.id;
        record.fork_step = fork->step;
    }
    record.tags = request.tags;
    record.group_name = request.group;
    record.host = util::host_name();
    record.build_info_json = util::build_info_json();
    run.run_id = writer.create_run(record);
    run.run_dir = workspace.run_dir(run.run_id);
    fs::create_directories(run.run_dir);
}

}  // namespace

NamedTensors capture_rng_state(const torch::Device& device) {
    NamedTensors state;
    state.emplace_back("cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (device.is_cuda()) {
        state.emplace_back("cuda", at::globalContext().defaultGenerator(device).get_state());
    }
    return state;
}

void restore_rng_state(const NamedTensors& state, const torch::Device& device) {
    for (const auto& [name, tensor] : state) {
        if (name == "cpu") {
            at::Generator generator = at::detail::getDefaultCPUGenerator();  // shared handle
            generator.set_state(tensor);
        } else if (name == "cuda" && device.is_cuda()) {
            at::Generator generator = at::globalContext().defaultGenerator(device);
            generator.set_state(tensor);
        }
    }
}

void load_checkpoint_weights(model::LanguageModelImpl& model,
                             const CheckpointContent& content,
                             const fs::path& checkpoint_dir) {
    io::SafetensorsFile file;
    file.path = checkpoint_dir / "model.safetensors";
    file.tensors = content.model;
    io::load_model_state(model, file);
}

std::pair<fs::path, std::optional<std::string>> resolve_checkpoint(
    const store::Workspace& workspace, const std::string& reference) {
    if (fs::is_directory(reference)) {
        return {fs::path(reference), std::nullopt};
    }
    store::RunReader reader(workspace);
    const auto run = reader.find_run(reference);
    if (!run) {
        throw util::BadInput("'" + reference + "' is neither a checkpoint folder nor a run in " +
                             workspace.database_path().string());
    }
    const auto checkpoint = reader.latest_checkpoint(run->id);
    if (!checkpoint) {
        throw util::BadInput("run " + std::to_string(run->id) + " ('" + run->name +
                             "') has no checkpoint");
    }
    return {workspace.root() / checkpoint->path, checkpoint->sha256};
}

RunContext create_run_context(const TrainRequest& request,
                              store::Workspace& workspace,
                              store::RunWriter& writer,
                              dist::World& world) {
    RunContext run;
    run.recipe = request.recipe;
    if (!request.device.empty()) {
        run.recipe.train.device = device_choice_from_string(request.device);
    }
    // Everything that can fail on bad input (data, model sizes, the init checkpoint) happens
    // before the run is recorded, so a rejected command leaves the workspace as it was.
    build_components(run, workspace.root(), request.launch, world);
    fs::path init_dir;
    if (!request.init_from.empty()) {
        const auto [dir, checksum] = resolve_checkpoint(workspace, request.init_from);
        const CheckpointContent content = read_checkpoint(dir, checksum, false);
        load_checkpoint_weights(*run.model, content, dir);
        run.model->to(run.device);
        init_dir = dir;
    }

    record_new_run(run,
                   request.name.empty() ? run.recipe.name : request.name,
                   request,
                   std::nullopt,
                   workspace,
                   writer);
    run.init_from = init_dir;
    return run;
}

RunContext resume_run_context(const TrainRequest& request,
                              store::Workspace& workspace,
                              store::RunWriter& writer,
                              dist::World& world) {
    store::RunReader reader(workspace);
    const auto record = reader.find_run(request.resume_run);
    if (!record) {
        throw util::BadInput("no run '" + request.resume_run + "' in " +
                             workspace.database_path().string());
    }
    if (record->kind != "train") {
        throw util::BadInput("run " + std::to_string(record->id) + " is a '" + record->kind +
                             "' run; only training runs can be resumed");
    }
    if (record->status == store::RunStatus::kCompleted) {
        throw util::BadInput("run " + std::to_string(record->id) + " already completed");
    }
    const auto checkpoint = reader.latest_checkpoint(record->id);
    if (!checkpoint) {
        throw util::BadInput("run " + std::to_string(record->id) +
                             " has no checkpoint to resume from");
    }
    RunContext run;
    run.run_id = record->id;
    run.resumed = true;
    try {
        run.recipe = config::recipe_from_json(nlohmann::json::parse(record->recipe_json));
    } catch (const std::exception& e) {
        throw util::BadInput("run " + std::to_string(record->id) +
                             ": stored recipe cannot be read (" + e.what() + ")");
    }
    if (!request.device.empty()) {
        run.recipe.train.device = device_choice_from_string(request.device);
    }
    run.run_dir = workspace.run_dir(run.run_id);
    if (!record->summary_json.empty()) {
        run.previous_summary = nlohmann::json::parse(record->summary_json, nullptr, false);
        if (run.previous_summary.is_discarded()) {
            run.previous_summary = nlohmann::json::object();
        }
    }
    // Verify before touching anything: a corrupt checkpoint is refused and the run left as is.
    const CheckpointContent content =
        read_checkpoint(workspace.root() / checkpoint->path, checkpoint->sha256);
    build_components(run, workspace.root(), request.launch, world);
    load_checkpoint_weights(*run.model, content, workspace.root() / checkpoint->path);
    run.model->to(run.device);
    run.optimizer->load_state(content.optimizer);
    restore_rng_state(content.rng, run.device);
    run.gradient_feedback = content.gradient_feedback;
    run.start_step = content.step;
    run.tokens_seen = content.tokens_seen;
    run.wall_time_before = content.wall_time;
    run.resumed_from = checkpoint->path;
    // Rows logged after the checkpoint are recomputed identically by the resumed run.
    writer.truncate_after(run.run_id, run.start_step);
    return run;
}

}  // namespace lowbit::train

namespace lowbit::train {

RunContext fork_run_context(const TrainRequest& request,
                            store::Workspace& workspace,
                            store::RunWriter& writer,
                            dist::World& world) {
    const ForkPoint fork = resolve_fork_point(workspace, request.fork_from);
    const std::string where = "--fork: run " + std::to_string(fork.parent.id) + " ('" +
                              fork.parent.name + "') at step " + std::to_string(fork.step);
    RunContext run;
    run.recipe = request.recipe;
    if (!request.device.empty()) {
        run.recipe.train.device = device_choice_from_string(request.device);
    }
    if (fork.step >= run.recipe.train.steps) {
        throw util::BadInput(where + ": the fork's train.steps (" +
                             std::to_string(run.recipe.train.steps) +
                             ") leaves nothing to train after the fork step");
    }
    // As for a new run, every check comes before the run is recorded: a refused fork leaves the
    // workspace as it was.
    const fs::path checkpoint_dir = workspace.root() / fork.checkpoint.path;
    const CheckpointContent content = read_checkpoint(checkpoint_dir, fork.checkpoint.sha256);
    build_components(run, workspace.root(), request.launch, world);
    const std::string mismatch =
        model_mismatch(content.model_config, model::to_json(run.model->config()));
    if (!mismatch.empty()) {
        throw util::BadInput(where + ": the checkpoint's model does not match the fork's recipe (" +
                             mismatch +
                             "); a fork changes how the model is trained, not its shape");
    }
    load_checkpoint_weights(*run.model, content, checkpoint_dir);
    run.model->to(run.device);
    if (content.optimizer.empty()) {
        throw util::BadInput(where + ": the checkpoint holds no optimizer state");
    }
    load_optimizer_state_converted(run, content.optimizer);
    restore_rng_state(content.rng, run.device);
    run.start_step = fork.step;
    run.tokens_seen = content.tokens_seen;
    run.parent_run_id = fork.parent.id;
    run.forked_from = fork.checkpoint.path;

    record_new_run(run,
                   request.name.empty() ? fork.parent.name + "-fork" + std::to_string(fork.step)
                                        : request.name,
                   request,
                   fork,
                   workspace,
                   writer);
    return run;
}

}  // namespace lowbit::train

namespace lowbit::train {

RunContext follower_run_context(const TrainRequest& request, dist::World& world) {
    const nlohmann::json handoff = dist::fetch_run_start(world, kRunHandoffKey);
    RunContext run;
    run.recipe = config::recipe_from_json(handoff.at("recipe"));
    run.run_id = handoff.at("run_id").get<int64_t>();
    run.run_dir = handoff.at("run_dir").get<std::string>();
    run.start_step = handoff.at("start_step").get<int64_t>();
    run.tokens_seen = handoff.at("tokens_seen").get<int64_t>();
    run.wall_time_before = handoff.at("wall_time_before").get<double>();
    run.resumed = handoff.at("resumed").get<bool>();
    // The shards are in the workspace's cache already: rank 0 prepared them before publishing.
    build_components(run, request.workspace_root, request.launch, world);
    return run;
}

nlohmann::json run_handoff(const RunContext& run) {
    return nlohmann::json{{"recipe", config::recipe_to_json(run.recipe)},
                          {"run_id", run.run_id},
                          {"run_dir", run.run_dir.string()},
                          {"start_step", run.start_step},
                          {"tokens_seen", run.tokens_seen},
                          {"wall_time_before", run.wall_time_before},
                          {"resumed", run.resumed}};
}

}  // namespace lowbit::train
