// The quantized linear's fidelity options against an independent PyTorch computation of the
// reference code's formulas (quant_fidelity_torch_check.py; docs/quantized-pretraining.md
// §Per-position scales, §Quantizer arithmetic, §Fused projections):
// - per_position X and G through the quantized linear, bit for bit against torch's amax over dims
//   (0, 2) of (B, T, C), with Y, dW, dX to GEMM rounding;
// - arithmetic input under bf16 autocast against the reference formulas run in bf16 (tolerances
//   stated in the script);
// - a per-tensor W quantizer on a fused Llama q|k|v layer against per-tensor quantization of the
//   concatenated matrix.
// This test writes operands and our results as safetensors, the script recomputes them.
#include "lowbit/io/safetensors.h"
#include "lowbit/model/language_model.h"
#include "lowbit/model/llama_model.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/quantized_linear.h"
#include "lowbit/util/autocast_guard.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "../support/shell_command.h"
#include <unistd.h>

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;
using kernels::FakeQuantParams;
using kernels::Granularity;

constexpr int64_t kBatch = 3;
constexpr int64_t kSeq = 6;
constexpr int64_t kIn = 24;
constexpr int64_t kOut = 40;

FakeQuantParams params(Granularity granularity, bool symmetric, float min_range) {
    FakeQuantParams p;
    p.bits = 8;
    p.granularity = granularity;
    p.symmetric = symmetric;
    p.min_range = min_range;
    return p;
}

// Per-position X and G: position 2 all zero, position 4 with outliers, some negative rows, so the
// per-position scales differ from per-token and per-tensor ones.
void write_per_position_case(const fs::path& dir, bool symmetric) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(symmetric ? 5 : 6);
    torch::Tensor x = torch::randn({kBatch, kSeq, kIn}, gen) + (symmetric ? 0.0 : 0.7);
    x.select(1, 2).zero_();
    x.select(1, 4).mul_(40.0);
    torch::Tensor w = torch::randn({kOut, kIn}, gen) * 0.05;
    torch::Tensor b = torch::randn({kOut}, gen) * 0.1;
    torch::Tensor g = torch::randn({kBatch, kSeq, kOut}, gen) * 1e-3;
    g.select(1, 1).mul_(-300.0);
    const FakeQuantParams a = params(Granularity::kPerPosition, symmetric, 1e-5f);
    const FakeQuantParams gp = params(Granularity::kPerPosition, symmetric, 1e-9f);
    QuantizedLinearCall call;
    call.activation = a;
    call.grad_output = gp;
    const torch::Tensor xl = x.clone().requires_grad_(true);
    const torch::Tensor wl = w.clone().requires_grad_(true);
    const torch::Tensor bl = b.clone().requires_grad_(true);
    const torch::Tensor y = quantized_linear(xl, wl, bl, call);  // (B, T, out)
    y.backward(g);
    const int64_t n = kBatch * kSeq;
    io::save_safetensors(
        dir / (std::string("per_position-") + (symmetric ? "sym" : "asym") + ".safetensors"),
        {{"x", x},
         {"w", w},
         {"b", b},
         {"g", g},
         {"bits", torch::tensor({8})},
         {"symmetric", torch::tensor({symmetric ? 1 : 0})},
         // Q(X), Q(G) as the layer computes them: the (N, C) operand with T known.
         {"xq",
          quantize_operand(x.reshape({n, kIn}), a, config::QuantArithmetic::kFp32, kSeq)
              .view(x.sizes())},
         {"gq",
          quantize_operand(g.reshape({n, kOut}), gp, config::QuantArithmetic::kFp32, kSeq)
              .view(g.sizes())},
         {"y", y.detach()},
         {"dw", wl.grad()},
         {"dx", xl.grad()}},
        {});
}

// bf16 X and G quantized in bf16 (arithmetic input), the fp32 W in fp32, under CPU bf16
// autocast. Values spread over several binades so that bf16 and fp32 quantizers disagree.
void write_bf16_case(const fs::path& dir) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(17);
    const torch::Tensor x =
        (torch::randn({kBatch, kSeq, kIn}, gen) * torch::rand({kBatch, kSeq, kIn}, gen) * 8.0)
            .to(torch::kBFloat16);
    const torch::Tensor w = torch::randn({kOut, kIn}, gen) * 0.05;
    const torch::Tensor g = (torch::randn({kBatch, kSeq, kOut}, gen) * 1e-3).to(torch::kBFloat16);
    QuantizedLinearCall call;
    call.weight = params(Granularity::kPerChannel, true, 1e-5f);
    call.activation = params(Granularity::kPerToken, true, 1e-5f);
    call.grad_output = params(Granularity::kPerToken, true, 1e-9f);
    call.arithmetic = config::QuantArithmetic::kInput;
    const torch::Tensor wl = w.clone().requires_grad_(true);
    torch::Tensor y;
    {
        util::AutocastGuard autocast(c10::DeviceType::CPU, true);
        y = quantized_linear(x, wl, torch::Tensor(), call);  // (B, T, out) bf16
    }
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    y.backward(g);
    const int64_t n = kBatch * kSeq;
    const auto input = config::QuantArithmetic::kInput;
    io::save_safetensors(
        dir / "bf16-input.safetensors",
        {{"x", x},
         {"w", w},
         {"g", g},
         {"xq",
          quantize_operand(x.reshape({n, kIn}), *call.activation, input, kSeq).view(x.sizes())},
         {"gq",
          quantize_operand(g.reshape({n, kOut}), *call.grad_output, input, kSeq).view(g.sizes())},
         {"wq", quantize_operand(w, *call.weight, input, 0)},
         {"y", y.detach()},
         {"dw", wl.grad()}},
        {});
}

// A fused Llama q|k|v layer whose rows are three blocks of different ranges, with a per-tensor
// 8-bit W quantizer.
void write_fused_case(const fs::path& dir) {
    model::ModelConfig cfg;
    cfg.family = config::ModelFamily::kLlama;
    cfg.layers = 1;
    cfg.heads = 4;
    cfg.d_model = 32;
    cfg.d_ff = 64;
    cfg.vocab_size = 50;
    cfg.fused_qkv = true;
    auto model = std::dynamic_pointer_cast<model::LlamaModelImpl>(model::create_model(cfg, 3));
    ASSERT_TRUE(model);
    model::Linear qkv = model->blocks[0]->as<model::LlamaBlockImpl>()->attn->qkv;
    ASSERT_TRUE(qkv);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(23);
    const torch::Tensor wq_in = torch::randn({32, 32}, gen) * 0.02;
    const torch::Tensor wk_in = torch::randn({32, 32}, gen) * 0.3;
    const torch::Tensor wv_in = torch::randn({32, 32}, gen) * 0.07;
    {
        torch::NoGradGuard no_grad;
        model->named_parameters()["blocks.0.attn.qkv.weight"].copy_(
            torch::cat({wq_in, wk_in, wv_in}, 0));
    }
    auto layer = std::make_shared<LayerQuantizers>();
    layer->path = qkv->path();
    layer->role = qkv->role();
    layer->weight = params(Granularity::kPerTensor, true, 1e-5f);
    qkv->set_quantizers(layer);
    const torch::Tensor x = torch::randn({2, 5, 32}, gen);
    torch::NoGradGuard no_grad;
    io::save_safetensors(dir / "fused-qkv.safetensors",
                         {{"wq_in", wq_in},
                          {"wk_in", wk_in},
                          {"wv_in", wv_in},
                          {"x", x},
                          {"w_fused_q", fake_quantize(qkv->weight(), *layer->weight)},
                          {"y", qkv->forward(x)}},
                         {});
}

TEST(QuantFidelityTorch, MatchesTheReferenceFormulasInTorch) {
    if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
        GTEST_SKIP() << "LOWBIT_PYTHON is not set: no PyTorch to compare with";
    }
    std::string pattern = (fs::temp_directory_path() / "lowbit-fidelity-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    const fs::path dir = pattern;
    write_per_position_case(dir, true);
    write_per_position_case(dir, false);
    write_bf16_case(dir);
    write_fused_case(dir);
    const std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_QUANT_TEST_DIR +
                            "/quant_fidelity_torch_check.py' '" + dir.string() + "' 2>&1";
    std::string report;
    const int rc = testing::run_shell_command(cmd, &report);
    EXPECT_EQ(rc, 0) << cmd << "\n" << report;
    std::cout << report;
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST(QuantFidelity, PerPositionNeedsTheSequenceLength) {
    const FakeQuantParams p = params(Granularity::kPerPosition, true, 1e-5f);
    const torch::Tensor x2d = torch::randn({6, 4});
    EXPECT_THROW(quantize_operand(x2d, p, config::QuantArithmetic::kFp32, 0), c10::Error);
    EXPECT_THROW(quantize_operand(x2d, p, config::QuantArithmetic::kFp32, 4), c10::Error);
    EXPECT_THROW(fake_quantize(x2d, p), c10::Error);  // a 2-D tensor has no positions
    // kernel_view: (B, T, C) -> (T, B*C), position t's row holds every batch entry's channels.
    const torch::Tensor x3 = torch::arange(24, torch::kFloat).view({2, 3, 4});
    const torch::Tensor v = kernel_view(x3, p);
    ASSERT_EQ(v.sizes(), (std::vector<int64_t>{3, 8}));
    EXPECT_TRUE(torch::equal(v[1], torch::cat({x3[0][1], x3[1][1]})));
}

}  // namespace
}  // namespace lowbit::quant
