// Training throughput of the tiny configuration (4 layers, 4 heads, d_model 128, context 64,
// batch 12, byte vocabulary) for GPT-2 and Llama: tokens/s of a full training step (forward,
// backward, clipping, AdamW) and the time of the optimizer step alone; and, for quantized
// pretraining, the W8A8G8 step (W per channel, A and G per token, 8 bits), the same step with
// the quantization telemetry of every 10th step written to a workspace, and the same step with the
// int8 forward GEMM (docs/quantized-pretraining.md §Int8 forward GEMM). All measured in one run,
// interleaved (interleaved.h), so their ratios are meaningful (results in docs/benchmarks.md).
// Prints the device, the shape and the thread settings. --rounds N (default 12);
// --telemetry-blocks N compares the telemetry variant in blocks of consecutive steps instead.
#include "lowbit/model/language_model.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/gradient_norm.h"
#include "lowbit/train/layer_telemetry.h"
#include "lowbit/train/make_optimizer.h"
#include "lowbit/util/autocast_guard.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench_options.h"
#include "interleaved.h"
#include "temp_dir.h"
#include <unistd.h>

namespace {

using lowbit::config::ModelFamily;

constexpr int kBatch = 12;
constexpr int kContext = 64;

// What a benchmarked step runs besides the plain fp32 step.
enum class Variant { kFp32, kBf16, kW8A8G8, kW8A8G8Telemetry, kW8A8G8Int8 };

// The recipe of a variant: the paper's W8A8G8 (docs/quantized-pretraining.md §The paper's
// findings), telemetry every 10 steps for the telemetry variant (never otherwise), the int8
// forward GEMM for the int8 variant.
lowbit::config::Recipe variant_recipe(Variant variant) {
    lowbit::config::Recipe recipe;
    recipe.telemetry.every = variant == Variant::kW8A8G8Telemetry ? 10 : 0;
    if (variant == Variant::kW8A8G8Int8) {
        recipe.quant.forward_gemm = lowbit::config::ForwardGemm::kInt8;
    }
    if (variant != Variant::kFp32 && variant != Variant::kBf16) {
        recipe.quant.weight.bits = 8;
        recipe.quant.activation.bits = 8;
        recipe.quant.grad_output.bits = 8;
    }
    return recipe;
}

// A workspace in a temporary folder (removed afterwards) with one run, for the telemetry
// variant's records, written with a training run's batching (docs/workspace-schema.md §Writing).
// In the main comparison, whose rounds interleave the variants, more than the batch's age passes
// between two recorded steps of one setup, so each recorded step's rows make one commit, as many
// rows per commit as a training run that records less often than every second; the commit is
// made right after the step and timed on its own (Setup::commit_each_recorded_step).
struct TelemetrySink {
    explicit TelemetrySink(std::filesystem::path folder)
        : root(std::move(folder)),
          workspace(lowbit::store::Workspace::open(root)),
          writer(workspace, lowbit::store::kTrainingBatchRows, lowbit::store::kTrainingBatchAgeS) {
        lowbit::store::RunRecord record;
        record.name = "train_bench";
        record.kind = "train";
        run_id = writer.create_run(record);
    }

    ~TelemetrySink() {
        lowbit::testing::remove_tree(root);
    }

    TelemetrySink(const TelemetrySink&) = delete;
    TelemetrySink& operator=(const TelemetrySink&) = delete;

    std::filesystem::path root;
    lowbit::store::Workspace workspace;
    lowbit::store::RunWriter writer;
    int64_t run_id = 0;
};

struct Setup {
    std::shared_ptr<lowbit::model::LanguageModelImpl> model;
    std::unique_ptr<lowbit::train::Optimizer> optimizer;
    std::unique_ptr<lowbit::train::LayerTelemetry> telemetry;
    std::unique_ptr<TelemetrySink> sink;
    int64_t steps_done = 0;
    // Telemetry setups: wall time in ms from before_update to the end of finish_step, or of the
    // commit after it (the update with the statistics passes, the moments' hand-over and the
    // store's commit) of each recorded step, and of the optimizer update alone of every other
    // step.
    std::vector<double> recorded_update_ms;
    std::vector<double> plain_update_ms;

    // The parts of each recorded update, in ms: the statistics passes of the captured A and G
    // (before_update), the optimizer step with its m and v passes, the W passes and the rows
    // handed to the writer (finish_step), and the commit of those rows.
    struct RecordedParts {
        std::vector<double> inputs_and_grads, optimizer, weights_and_rows, commit;
    } recorded_parts;

    // Commit a recorded step's rows right after it, timed apart (the main comparison), instead
    // of when the writer's age limit commits them (the blocks, whose recorded steps share
    // commits as a training run's do).
    bool commit_each_recorded_step = false;
    torch::Tensor inputs;   // (B, T) int64
    torch::Tensor targets;  // (B, T) int64
    torch::Device device{torch::kCPU};
};

Setup make_setup(ModelFamily family, Variant variant = Variant::kFp32) {
    Setup s;
    s.device =
        torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    lowbit::model::ModelConfig cfg;
    cfg.family = family;
    cfg.layers = 4;
    cfg.heads = 4;
    cfg.d_model = 128;
    cfg.d_ff = lowbit::model::default_d_ff(family, 128);
    cfg.context = kContext;
    cfg.vocab_size = 256;
    s.model = lowbit::model::create_model(cfg, 1);
    s.model->to(s.device);
    const lowbit::config::Recipe recipe = variant_recipe(variant);
    s.model->set_quant_plan(std::make_shared<const lowbit::quant::QuantPlan>(
        lowbit::quant::resolve_quant_plan(recipe, *s.model)));
    s.optimizer = lowbit::train::make_optimizer(recipe, *s.model);
    if (recipe.telemetry.every > 0) {
        s.sink =
            std::make_unique<TelemetrySink>(std::filesystem::temp_directory_path() /
                                            ("lowbit-train-bench-" + std::to_string(::getpid())));
        s.telemetry = std::make_unique<lowbit::train::LayerTelemetry>(recipe, *s.model);
    }
    s.inputs = torch::randint(0, 256, {kBatch, kContext}, torch::kInt64).to(s.device);
    s.targets = torch::randint(0, 256, {kBatch, kContext}, torch::kInt64).to(s.device);
    return s;
}

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) {
        torch::cuda::synchronize();
    }
}

// One optimizer step as the trainer takes it (docs/training.md §Step), one micro-batch.
void train_step(Setup& s, bool bf16) {
    const int64_t done = ++s.steps_done;
    const bool log_telemetry = s.telemetry && s.telemetry->begin_step(done);
    for (auto& p : s.model->parameters()) {
        p.mutable_grad() = torch::Tensor();
    }
    torch::Tensor loss;
    {
        lowbit::util::AutocastGuard autocast(s.device.type(), bf16);
        loss = lowbit::model::lm_loss(s.model->forward(s.inputs), s.targets);
    }
    loss.backward();
    const torch::Tensor norm = lowbit::train::clip_gradients(s.model->parameters(), 1.0);
    // The trainer's one host read per step.
    (void)torch::stack({loss.detach().to(torch::kFloat64), norm.to(torch::kFloat64)}).cpu();
    using Clock = std::chrono::steady_clock;
    const auto ms_between = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double, std::milli>(b - a).count();
    };
    const auto update_start = Clock::now();
    if (log_telemetry) {
        s.telemetry->before_update(*s.optimizer);
    }
    const auto optimizer_start = Clock::now();
    s.optimizer->step(1e-3);
    const auto optimizer_end = Clock::now();
    if (log_telemetry) {
        s.telemetry->finish_step(done, s.sink->writer, s.sink->run_id);
    }
    const auto rows_handed = Clock::now();
    if (log_telemetry && s.commit_each_recorded_step) {
        // In the main comparison more than the writer's age limit passes between two recorded
        // steps, so the next one's first row would commit these: the same rows in one commit,
        // made now so that it is timed on its own.
        s.sink->writer.flush();
    }
    const auto update_end = Clock::now();
    if (log_telemetry && s.commit_each_recorded_step) {
        Setup::RecordedParts& parts = s.recorded_parts;
        parts.inputs_and_grads.push_back(ms_between(update_start, optimizer_start));
        parts.optimizer.push_back(ms_between(optimizer_start, optimizer_end));
        parts.weights_and_rows.push_back(ms_between(optimizer_end, rows_handed));
        parts.commit.push_back(ms_between(rows_handed, update_end));
    }
    if (s.telemetry) {
        (log_telemetry ? s.recorded_update_ms : s.plain_update_ms)
            .push_back(ms_between(update_start, update_end));
    }
}

// The telemetry work itself: a recorded step's update (its statistics passes, the moments'
// hand-over and the store's commit) less an unrecorded step's update (median of the same setup),
// as a share of `ten_steps_ms`, the time of 10 W8A8G8 steps; then, in the main comparison, the
// medians of its parts. The median recorded step is steadier than the ratio of two noisy step
// medians; the mean also carries the WAL checkpoints, which do not come every recorded step. Both
// leave out the capture during the forward and backward passes (a reference per tensor).
void print_telemetry_work(const std::string& label, const Setup& s, double ten_steps_ms) {
    const std::vector<double>& recorded_ms = s.recorded_update_ms;
    if (recorded_ms.empty() || s.plain_update_ms.empty()) {
        return;
    }
    const double recorded = lowbit::bench::Timing::quantile(recorded_ms, 0.5);
    double recorded_mean = 0.0;
    for (const double ms : recorded_ms) {
        recorded_mean += ms / static_cast<double>(recorded_ms.size());
    }
    const double plain = lowbit::bench::Timing::quantile(s.plain_update_ms, 0.5);
    std::printf(
        "%stelemetry work per recorded step: update median %.2f ms (mean %.2f ms) over %zu "
        "recorded steps - %.2f ms over %zu others = %.2f ms = %.4f of 10 W8A8G8 steps (mean: "
        "%.2f ms = %.4f)\n",
        label.c_str(),
        recorded,
        recorded_mean,
        recorded_ms.size(),
        plain,
        s.plain_update_ms.size(),
        recorded - plain,
        (recorded - plain) / ten_steps_ms,
        recorded_mean - plain,
        (recorded_mean - plain) / ten_steps_ms);
    const Setup::RecordedParts& parts = s.recorded_parts;
    if (parts.commit.empty()) {
        return;
    }
    const auto median = [](const std::vector<double>& ms) {
        return lowbit::bench::Timing::quantile(ms, 0.5);
    };
    std::printf(
        "%s  its parts, medians: A and G passes %.2f ms | optimizer step %.2f ms (%.2f ms "
        "unrecorded) | W passes and rows %.2f ms | commit %.2f ms\n",
        label.c_str(),
        median(parts.inputs_and_grads),
        median(parts.optimizer),
        plain,
        median(parts.weights_and_rows),
        median(parts.commit));
}

// Steps per repetition: a multiple of the telemetry interval, so every repetition of the
// telemetry variant holds exactly one recorded step.
constexpr int kStepsPerRepetition = 10;

// --pytorch-comparison N: only the GPT-2 fp32 step, N steps after a warm-up, each timed; prints
// the medians in torch_reference_step.py's format (tests/bench/torch_comparison.sh runs the two
// alternately).
int pytorch_comparison(int steps) {
    Setup s = make_setup(ModelFamily::kGpt2);
    for (int i = 0; i < 5; ++i) {
        train_step(s, false);
    }
    std::vector<double> walls;
    std::vector<double> cpus;
    for (int i = 0; i < steps; ++i) {
        const double wall0 = lowbit::bench::wall_seconds();
        const double cpu0 = lowbit::bench::cpu_seconds();
        train_step(s, false);
        synchronize(s.device);
        walls.push_back(lowbit::bench::wall_seconds() - wall0);
        cpus.push_back(lowbit::bench::cpu_seconds() - cpu0);
    }
    std::printf("engine fp32 step: wall %.3f ms cpu %.3f ms threads %d\n",
                lowbit::bench::Timing::quantile(walls, 0.5) * 1e3,
                lowbit::bench::Timing::quantile(cpus, 0.5) * 1e3,
                at::get_num_threads());
    return 0;
}

// --telemetry-blocks N: the W8A8G8 step with and without telemetry every 10 steps, in blocks of
// kTelemetryBlockSteps consecutive steps, alternated for N rounds. Unlike the main comparison's
// rounds of 10 steps per variant, a block keeps a setup's recorded steps as close together as a
// training run has them, so the store's commits are shared between recorded steps as a training
// run's one-second batching shares them (docs/workspace-schema.md §Writing).
constexpr int kTelemetryBlockSteps = 100;
static_assert(kTelemetryBlockSteps % 10 == 0, "a block holds whole telemetry intervals");

int telemetry_blocks(int rounds) {
    std::printf("# train_bench --telemetry-blocks: blocks of %d steps, %d alternated rounds\n",
                kTelemetryBlockSteps,
                rounds);
    lowbit::bench::print_thread_settings(at::get_num_threads());
    for (auto [family, tag] :
         {std::pair{ModelFamily::kGpt2, "gpt2"}, std::pair{ModelFamily::kLlama, "llama"}}) {
        const std::string prefix = std::string(tag) + " ";
        Setup plain = make_setup(family, Variant::kW8A8G8);
        Setup recorded = make_setup(family, Variant::kW8A8G8Telemetry);
        const auto block = [](Setup& s) {
            for (int i = 0; i < kTelemetryBlockSteps; ++i) {
                train_step(s, false);
            }
            synchronize(s.device);
        };
        const double tokens = static_cast<double>(kTelemetryBlockSteps * kBatch * kContext);
        const std::vector<lowbit::bench::Case> cases = {
            {prefix + "W8A8G8, block", [&] { block(plain); }, tokens},
            {prefix + "W8A8G8 + telemetry every 10, block", [&] { block(recorded); }, tokens}};
        const auto timings = lowbit::bench::run_interleaved(cases, rounds);
        lowbit::bench::print_timings(timings, "tokens");
        lowbit::bench::print_ratio(timings,
                                   prefix + "blocks: telemetry every 10 / without",
                                   prefix + "W8A8G8 + telemetry every 10, block",
                                   prefix + "W8A8G8, block");
        const double ten_steps_ms =
            lowbit::bench::find_timing(timings, prefix + "W8A8G8, block").median_wall() * 1e3 * 10 /
            kTelemetryBlockSteps;
        print_telemetry_work(prefix + "blocks: ", recorded, ten_steps_ms);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 12;
    int pytorch_comparison_steps = 0;
    int telemetry_block_rounds = 0;
    CLI::App app{"train_bench: training steps of the tiny GPT-2 and Llama, measured side by side"};
    lowbit::bench::add_rounds_option(app, rounds);
    auto* comparison =
        app.add_option("--pytorch-comparison",
                       pytorch_comparison_steps,
                       "Only the GPT-2 fp32 step, this many timed steps, in the format of "
                       "torch_reference_step.py")
            ->check(CLI::Range(1, lowbit::bench::kMaxCount));
    app.add_option("--telemetry-blocks",
                   telemetry_block_rounds,
                   "Only the W8A8G8 step with and without telemetry, in blocks of steps, this "
                   "many rounds")
        ->check(CLI::Range(lowbit::bench::kMinRounds, lowbit::bench::kMaxCount))
        ->excludes(comparison);
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    if (pytorch_comparison_steps > 0) {
        return pytorch_comparison(pytorch_comparison_steps);
    }
    if (telemetry_block_rounds > 0) {
        return telemetry_blocks(telemetry_block_rounds);
    }
    const std::string device = torch::cuda::is_available() ? "cuda" : "cpu";
    std::printf(
        "# train_bench: device %s, shape B=%d T=%d d_model=128 layers=4 vocab=256, "
        "%d steps per repetition, %d interleaved rounds\n",
        device.c_str(),
        kBatch,
        kContext,
        kStepsPerRepetition,
        rounds);
    lowbit::bench::print_thread_settings(at::get_num_threads());
    for (auto [family, tag] :
         {std::pair{ModelFamily::kGpt2, "gpt2"}, std::pair{ModelFamily::kLlama, "llama"}}) {
        std::vector<std::unique_ptr<Setup>> setups;
        std::vector<lowbit::bench::Case> cases;
        const std::string prefix = std::string(tag) + " ";
        for (auto [variant, name] :
             {std::pair{Variant::kFp32, "fp32 step"},
              std::pair{Variant::kBf16, "bf16 step"},
              std::pair{Variant::kW8A8G8, "W8A8G8 step"},
              std::pair{Variant::kW8A8G8Telemetry, "W8A8G8 step, telemetry every 10"},
              std::pair{Variant::kW8A8G8Int8, "W8A8G8 step, int8 forward GEMM"}}) {
            setups.push_back(std::make_unique<Setup>(make_setup(family, variant)));
            Setup* s = setups.back().get();
            s->commit_each_recorded_step = true;
            const bool bf16 = variant == Variant::kBf16;
            cases.push_back({prefix + name,
                             [s, bf16] {
                                 for (int i = 0; i < kStepsPerRepetition; ++i) {
                                     train_step(*s, bf16);
                                 }
                                 synchronize(s->device);
                             },
                             static_cast<double>(kStepsPerRepetition * kBatch * kContext)});
        }
        // The optimizer step alone, on the gradients of one fp32 step.
        setups.push_back(std::make_unique<Setup>(make_setup(family)));
        Setup* opt = setups.back().get();
        train_step(*opt, false);
        cases.push_back({prefix + "AdamW step alone",
                         [opt] {
                             for (int i = 0; i < kStepsPerRepetition; ++i) {
                                 opt->optimizer->step(1e-3);
                             }
                             synchronize(opt->device);
                         },
                         static_cast<double>(kStepsPerRepetition * kBatch * kContext)});
        const auto timings = lowbit::bench::run_interleaved(cases, rounds);
        std::printf("\n## %s (times per %d steps; rate in tokens/s)\n", tag, kStepsPerRepetition);
        lowbit::bench::print_timings(timings, "tokens");
        lowbit::bench::print_ratio(
            timings, prefix + "bf16 step / fp32 step", prefix + "bf16 step", prefix + "fp32 step");
        lowbit::bench::print_ratio(timings,
                                   prefix + "W8A8G8 step / fp32 step",
                                   prefix + "W8A8G8 step",
                                   prefix + "fp32 step");
        lowbit::bench::print_ratio(timings,
                                   prefix + "W8A8G8 with telemetry every 10 / without",
                                   prefix + "W8A8G8 step, telemetry every 10",
                                   prefix + "W8A8G8 step");
        static_assert(kStepsPerRepetition == 10);
        const double ten_steps_ms =
            lowbit::bench::find_timing(timings, prefix + "W8A8G8 step").median_wall() * 1e3;
        for (const auto& setup : setups) {
            print_telemetry_work(prefix, *setup, ten_steps_ms);
        }
        lowbit::bench::print_ratio(timings,
                                   prefix + "W8A8G8 int8 forward GEMM / fake-quant forward",
                                   prefix + "W8A8G8 step, int8 forward GEMM",
                                   prefix + "W8A8G8 step");
        lowbit::bench::print_ratio(timings,
                                   prefix + "AdamW step / fp32 training step",
                                   prefix + "AdamW step alone",
                                   prefix + "fp32 step");
    }
    return 0;
}
