// GPU benchmarks (CUDA builds; results in docs/benchmarks.md §On a GPU), in two parts, each
// measured interleaved (interleaved.h) so that its ratios are meaningful:
// - kernels at 64 Mi values (8192 × 8192): a device-to-device copy, the bandwidth ceiling (bytes
//   read + written); fake quantization (8 bits, symmetric, nearest) per tensor, per row and per
//   group of 128, of float32 and of bfloat16 tensors; the quantized-AdamW step on one 8192 × 8192
//   parameter with 8-bit and 4-bit moments per block of 256, beside the float32 AdamW step. Each
//   prints its bandwidth for the fewest bytes it must move (every input read once, every output
//   written once) as a fraction of the copy's.
// - training steps of GPT-2-small shapes (12 layers, 12 heads, d_model 768, context 1024, vocab
//   50257, batch --batch): the bf16 step, the W8A8G8 step under bf16, the same with the int8
//   forward GEMM, and the bf16 step whose gradients are averaged through an NCCL process group of
//   one rank (docs/distributed.md §Process group), against the plain bf16 step.
// Prints the GPU, the shapes and the settings. --rounds N (default 10), --batch B (default 8),
// --part kernels|steps|all.
#include "lowbit/dist/gradient_averaging.h"
#include "lowbit/dist/world.h"
#include "lowbit/model/language_model.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/train/adamw.h"
#include "lowbit/train/gradient_norm.h"
#include "lowbit/train/make_optimizer.h"
#include "lowbit/train/quantized_adamw.h"
#include "lowbit/util/autocast_guard.h"

#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/loopback_port.h"
#include "bench_options.h"
#include "interleaved.h"

namespace {

using lowbit::bench::Case;
using lowbit::bench::Timing;
using lowbit::config::ModelFamily;
using lowbit::kernels::FakeQuantParams;
using lowbit::kernels::Granularity;
using lowbit::kernels::StateQuantFormat;

constexpr int64_t kSide = 8192;  // kernels: (8192, 8192) = 64 Mi values

void synchronize() {
    torch::cuda::synchronize();
}

// Median bandwidth of a case for `bytes` per repetition, in GB/s.
double gbps(const Timing& t, double bytes) {
    return bytes / t.median_wall() / 1e9;
}

void print_bandwidth(const std::vector<Timing>& timings,
                     const std::string& name,
                     double bytes,
                     double copy_gbps) {
    const Timing& t = lowbit::bench::find_timing(timings, name);
    std::printf("%-44s %8.1f GB/s for %7.1f MB = %.3f of the copy's\n",
                name.c_str(),
                gbps(t, bytes),
                bytes / 1e6,
                gbps(t, bytes) / copy_gbps);
}

FakeQuantParams fake_quant_params(Granularity granularity) {
    FakeQuantParams params;
    params.bits = 8;
    params.granularity = granularity;
    params.group_size = 128;
    return params;
}

std::unique_ptr<lowbit::train::Optimizer> make_adam(const torch::Tensor& p,
                                                    std::optional<StateQuantFormat> format) {
    const std::vector<std::pair<std::string, torch::Tensor>> named{{"w", p}};
    if (!format) {
        return std::make_unique<lowbit::train::AdamW>(named, lowbit::train::AdamWOptions{});
    }
    return std::make_unique<lowbit::train::QuantizedAdamW>(
        std::vector<lowbit::train::QuantizedAdamWParam>{{"w", p, format, format}},
        lowbit::train::AdamWOptions{});
}

void bench_kernels(int rounds) {
    const torch::Device gpu(torch::kCUDA, 0);
    const auto f32 = torch::TensorOptions().device(gpu).dtype(torch::kFloat32);
    const double n = static_cast<double>(kSide * kSide);
    std::printf("\n## kernels at %lld x %lld (%.0f Mi values), times per call\n",
                static_cast<long long>(kSide),
                static_cast<long long>(kSide),
                n / (1 << 20));
    // Random inputs: zeros would hide unwritten outputs and can run faster.
    const torch::Tensor x32 = torch::randn({kSide, kSide}, f32);
    const torch::Tensor x16 = x32.to(torch::kBFloat16);
    torch::Tensor copy32 = torch::empty_like(x32);
    torch::Tensor copy16 = torch::empty_like(x16);

    std::vector<Case> cases;
    cases.push_back({"copy float32", [&] { copy32.copy_(x32); }});
    cases.push_back({"copy bfloat16", [&] { copy16.copy_(x16); }});
    const std::vector<std::pair<Granularity, std::string>> granularities{
        {Granularity::kPerTensor, "per tensor"},
        {Granularity::kPerChannel, "per row"},
        {Granularity::kPerGroup, "per group of 128"}};
    for (const auto& [granularity, label] : granularities) {
        const FakeQuantParams params = fake_quant_params(granularity);
        cases.push_back({"fake quant float32 " + label,
                         [&x32, params] { (void)lowbit::quant::fake_quantize(x32, params); }});
        cases.push_back({"fake quant bfloat16 " + label,
                         [&x16, params] { (void)lowbit::quant::fake_quantize(x16, params); }});
    }

    // The optimizer steps, each on its own parameter and gradient.
    StateQuantFormat q8;
    q8.bits = 8;
    q8.granularity = Granularity::kPerBlock;
    q8.block_size = 256;
    StateQuantFormat q4 = q8;
    q4.bits = 4;

    struct AdamSetup {
        torch::Tensor p;
        std::unique_ptr<lowbit::train::Optimizer> optimizer;
    };

    std::vector<std::unique_ptr<AdamSetup>> adams;
    const std::vector<std::pair<std::optional<StateQuantFormat>, std::string>> formats{
        {std::nullopt, "AdamW float32 moments"},
        {q8, "AdamW 8-bit moments"},
        {q4, "AdamW 4-bit moments"}};
    for (const auto& [format, label] : formats) {
        auto s = std::make_unique<AdamSetup>();
        s->p = (0.02 * torch::randn({kSide, kSide}, f32)).set_requires_grad(true);
        s->p.mutable_grad() = 1e-3 * torch::randn({kSide, kSide}, f32);
        s->optimizer = make_adam(s->p, format);
        s->optimizer->step(1e-3);  // moments filled from a real gradient before timing
        AdamSetup* raw = s.get();
        cases.push_back({label, [raw] { raw->optimizer->step(1e-3); }});
        adams.push_back(std::move(s));
    }

    // Ten calls per repetition, the device synchronised once at its end.
    std::vector<Case> timed;
    for (const Case& c : cases) {
        timed.push_back({c.name, [run = c.run] {
                             for (int i = 0; i < 10; ++i) {
                                 run();
                             }
                             synchronize();
                         }});
    }
    const std::vector<Timing> raw = lowbit::bench::run_interleaved(timed, rounds, 1, 2);
    std::vector<Timing> per_call = raw;
    for (Timing& t : per_call) {
        for (double& w : t.wall) {
            w /= 10;
        }
        for (double& c : t.cpu) {
            c /= 10;
        }
    }
    lowbit::bench::print_timings(per_call);

    const double copy32_gbps = gbps(lowbit::bench::find_timing(per_call, "copy float32"), 8 * n);
    const double copy16_gbps = gbps(lowbit::bench::find_timing(per_call, "copy bfloat16"), 4 * n);
    std::printf("\nbandwidth (fewest bytes: inputs read once, outputs written once)\n");
    print_bandwidth(per_call, "copy float32", 8 * n, copy32_gbps);
    print_bandwidth(per_call, "copy bfloat16", 4 * n, copy32_gbps);
    for (const auto& [granularity, label] : granularities) {
        // x read, x^ written, and one float32 scale and zero point per group written.
        const double groups = static_cast<double>(
            lowbit::kernels::fake_quant_num_groups(fake_quant_params(granularity), kSide, kSide));
        print_bandwidth(per_call, "fake quant float32 " + label, 8 * n + 8 * groups, copy32_gbps);
        print_bandwidth(per_call, "fake quant bfloat16 " + label, 4 * n + 8 * groups, copy16_gbps);
    }
    // p read and written, g read; m and v read and written: float32, or codes (1 byte or half a
    // byte per value) with one float32 scale per block of 256.
    const double blocks = n / 256;
    print_bandwidth(per_call, "AdamW float32 moments", (8 + 4 + 16) * n, copy32_gbps);
    print_bandwidth(per_call, "AdamW 8-bit moments", (8 + 4 + 4) * n + 16 * blocks, copy32_gbps);
    print_bandwidth(per_call, "AdamW 4-bit moments", (8 + 4 + 2) * n + 16 * blocks, copy32_gbps);
    lowbit::bench::print_ratio(per_call,
                               "AdamW 8-bit / float32 moments step",
                               "AdamW 8-bit moments",
                               "AdamW float32 moments");
    lowbit::bench::print_ratio(per_call,
                               "AdamW 4-bit / float32 moments step",
                               "AdamW 4-bit moments",
                               "AdamW float32 moments");
}

// What a benchmarked training step runs besides the plain bf16 step.
enum class Variant { kBf16, kW8A8G8, kW8A8G8Int8, kBf16Nccl };

struct StepSetup {
    std::shared_ptr<lowbit::model::LanguageModelImpl> model;
    std::unique_ptr<lowbit::train::Optimizer> optimizer;
    lowbit::dist::World* world = nullptr;  // kBf16Nccl: gradients averaged through it
    std::vector<torch::Tensor> parameters;
    torch::Tensor inputs;   // (B, T) int64
    torch::Tensor targets;  // (B, T) int64
};

std::unique_ptr<StepSetup> make_step_setup(const lowbit::model::ModelConfig& cfg,
                                           int batch,
                                           Variant variant,
                                           lowbit::dist::World* world) {
    auto s = std::make_unique<StepSetup>();
    const torch::Device gpu(torch::kCUDA, 0);
    s->model = lowbit::model::create_model(cfg, 1);
    s->model->to(gpu);
    lowbit::config::Recipe recipe;
    if (variant == Variant::kW8A8G8 || variant == Variant::kW8A8G8Int8) {
        recipe.quant.weight.bits = 8;
        recipe.quant.activation.bits = 8;
        recipe.quant.grad_output.bits = 8;
    }
    if (variant == Variant::kW8A8G8Int8) {
        recipe.quant.forward_gemm = lowbit::config::ForwardGemm::kInt8;
    }
    s->model->set_quant_plan(std::make_shared<const lowbit::quant::QuantPlan>(
        lowbit::quant::resolve_quant_plan(recipe, *s->model)));
    s->optimizer = lowbit::train::make_optimizer(recipe, *s->model);
    s->parameters = s->model->parameters();
    if (variant == Variant::kBf16Nccl) {
        s->world = world;
    }
    s->inputs = torch::randint(0, cfg.vocab_size, {batch, cfg.context}, torch::kInt64).to(gpu);
    s->targets = torch::randint(0, cfg.vocab_size, {batch, cfg.context}, torch::kInt64).to(gpu);
    return s;
}

// One optimizer step as the trainer takes it (docs/training.md §Step), one micro-batch, bf16
// autocast; the one host read per step.
void train_step(StepSetup& s) {
    for (auto& p : s.parameters) {
        p.mutable_grad() = torch::Tensor();
    }
    torch::Tensor loss;
    {
        lowbit::util::AutocastGuard autocast(torch::kCUDA, true);
        loss = lowbit::model::lm_loss(s.model->forward(s.inputs), s.targets);
    }
    loss.backward();
    if (s.world != nullptr) {
        torch::Tensor riders =
            torch::stack({loss.detach().to(torch::kFloat32),
                          torch::zeros({}, loss.options().dtype(torch::kFloat))});
        lowbit::dist::average_gradients(*s.world, s.parameters, riders);
    }
    const torch::Tensor norm = lowbit::train::clip_gradients(s.parameters, 1.0);
    (void)torch::stack({loss.detach().to(torch::kFloat64), norm.to(torch::kFloat64)}).cpu();
    s.optimizer->step(1e-4);
}

void bench_steps(int rounds, int batch) {
    lowbit::model::ModelConfig cfg;
    cfg.family = ModelFamily::kGpt2;
    cfg.layers = 12;
    cfg.heads = 12;
    cfg.d_model = 768;
    cfg.d_ff = lowbit::model::default_d_ff(cfg.family, cfg.d_model);
    cfg.context = 1024;
    cfg.vocab_size = 50257;
    std::printf(
        "\n## GPT-2-small steps: layers 12, heads 12, d_model 768, context 1024, vocab "
        "50257, batch %d (%d tokens per step), bf16 autocast\n",
        batch,
        batch * cfg.context);
    lowbit::dist::LaunchEnvironment env;
    env.master_port = lowbit::testing::free_loopback_port();
    const std::unique_ptr<lowbit::dist::World> world =
        lowbit::dist::World::connect(env, std::chrono::seconds(120));

    constexpr int kStepsPerRepetition = 3;
    std::vector<std::unique_ptr<StepSetup>> setups;
    std::vector<Case> cases;
    for (const auto& [variant, name] :
         {std::pair{Variant::kBf16, "bf16 step"},
          std::pair{Variant::kW8A8G8, "W8A8G8 step"},
          std::pair{Variant::kW8A8G8Int8, "W8A8G8 step, int8 forward GEMM"},
          std::pair{Variant::kBf16Nccl, "bf16 step, NCCL world of 1"}}) {
        setups.push_back(make_step_setup(cfg, batch, variant, world.get()));
        StepSetup* s = setups.back().get();
        cases.push_back({name,
                         [s] {
                             for (int i = 0; i < kStepsPerRepetition; ++i) {
                                 train_step(*s);
                             }
                             synchronize();
                         },
                         static_cast<double>(kStepsPerRepetition * batch * cfg.context)});
    }
    const auto timings = lowbit::bench::run_interleaved(cases, rounds);
    std::printf("(times per %d steps; rate in tokens/s)\n", kStepsPerRepetition);
    lowbit::bench::print_timings(timings, "tokens");
    std::printf("NCCL world of 1: gradients through process group '%s'\n",
                world->group_name_for(setups.back()->parameters.front()).c_str());
    lowbit::bench::print_ratio(timings, "W8A8G8 / bf16 step", "W8A8G8 step", "bf16 step");
    lowbit::bench::print_ratio(timings,
                               "W8A8G8 int8 forward GEMM / bf16 step",
                               "W8A8G8 step, int8 forward GEMM",
                               "bf16 step");
    lowbit::bench::print_ratio(timings,
                               "W8A8G8 int8 forward GEMM / fake-quant forward",
                               "W8A8G8 step, int8 forward GEMM",
                               "W8A8G8 step");
    lowbit::bench::print_ratio(
        timings, "NCCL world of 1 / plain bf16 step", "bf16 step, NCCL world of 1", "bf16 step");
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 10;
    int batch = 8;
    std::string part = "all";
    CLI::App app{"gpu_bench: CUDA kernels against the copy bandwidth, and GPT-2-small steps"};
    lowbit::bench::add_rounds_option(app, rounds);
    app.add_option("--batch", batch, "Sequences per GPT-2-small step")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    app.add_option("--part", part, "What to measure")
        ->check(CLI::IsMember({"all", "kernels", "steps"}))
        ->capture_default_str();
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    if (!torch::cuda::is_available()) {
        std::fprintf(stderr, "gpu_bench: no CUDA device\n");
        return 2;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
        std::fprintf(stderr, "gpu_bench: cudaGetDeviceProperties failed\n");
        return 1;
    }
    std::printf("# gpu_bench: %s, %d multiprocessors, %.1f GiB, %d interleaved rounds\n",
                prop.name,
                prop.multiProcessorCount,
                static_cast<double>(prop.totalGlobalMem) / (1 << 30),
                rounds);
    lowbit::bench::print_thread_settings(at::get_num_threads());
    if (part == "kernels" || part == "all") {
        bench_kernels(rounds);
    }
    if (part == "steps" || part == "all") {
        bench_steps(rounds, batch);
    }
    return 0;
}
