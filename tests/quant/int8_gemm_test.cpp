// The int8 forward GEMM (docs/quantized-pretraining.md §Int8 forward GEMM):
// - the codes are the scalar reference's codes (kernels' fake_quant_codes_ref), and scales·codes
//   is the fake quantizer's output bit for bit, stochastic rounding included;
// - the product equals an integer triple loop in int64 exactly, at the extreme codes too, and
//   the rescale equals a float64 computation within three float32 roundings; the CPU's one-pass
//   rescale (with the bias) is LibTorch's op chain bit for bit;
// - the quantized linear's int8 forward differs from the fake-quant one by no more than the
//   float32 dot-product error bound, and its gradients are the fake-quant ones bit for bit;
// - the weight cache keeps the codes per weight version; the recipe's int8 switch reaches the
//   layers of a model.
#include "lowbit/quant/int8_gemm.h"

#include "lowbit/config/recipe_yaml.h"
#include "lowbit/kernels/int8_rescale.h"
#include "lowbit/model/language_model.h"
#include "lowbit/model/model_config.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/quant/quantized_linear.h"
#include "lowbit/quant/weight_quant_cache.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lowbit::quant {
namespace {

kernels::FakeQuantParams quantizer(int bits, kernels::Granularity granularity) {
    kernels::FakeQuantParams p;
    p.bits = bits;
    p.granularity = granularity;
    return p;
}

torch::Tensor randn(std::vector<int64_t> shape, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randn(shape, gen, torch::kFloat32);
}

TEST(Int8Gemm, CodesAreTheReferenceCodesAndScaleBackToTheFakeQuantizer) {
    struct Case {
        int bits;
        kernels::Granularity granularity;
        kernels::QuantGrid grid;
        int64_t rows;
        int64_t cols;
    };

    const std::vector<Case> cases = {
        {8, kernels::Granularity::kPerToken, kernels::QuantGrid::kReference, 33, 17},
        {8, kernels::Granularity::kPerChannel, kernels::QuantGrid::kFull, 5, 64},
        {8, kernels::Granularity::kPerTensor, kernels::QuantGrid::kReference, 7, 3},
        {4, kernels::Granularity::kPerToken, kernels::QuantGrid::kFull, 12, 31},
        {2, kernels::Granularity::kPerChannel, kernels::QuantGrid::kReference, 9, 40},
    };
    uint64_t seed = 11;
    for (const Case& c : cases) {
        kernels::FakeQuantParams p = quantizer(c.bits, c.granularity);
        p.grid = c.grid;
        // Rows of very different ranges, and one all-zero row (its scale is the floor).
        torch::Tensor t =
            randn({c.rows, c.cols}, ++seed) * torch::logspace(-3, 2, c.rows).view({-1, 1});
        t[0].zero_();
        const Int8Operand op = int8_operand(t, p);
        FakeQuantScales reference_scales;
        const torch::Tensor reference = quantize_codes(t, p, &reference_scales);
        EXPECT_TRUE(torch::equal(op.codes, reference)) << c.bits << " bits, " << c.rows;
        EXPECT_TRUE(torch::equal(op.scales, reference_scales.scales));
        const torch::Tensor dequantized = op.codes.to(torch::kFloat) * op.scales.view({-1, 1});
        EXPECT_TRUE(torch::equal(dequantized, fake_quantize(t, p)));
    }
    // Stochastic rounding: the codes carry the same draws as the fake quantizer with that seed.
    kernels::FakeQuantParams stochastic = quantizer(8, kernels::Granularity::kPerToken);
    stochastic.rounding = kernels::Rounding::kStochastic;
    stochastic.seed = 1234;
    const torch::Tensor t = randn({24, 40}, 5);
    const Int8Operand op = int8_operand(t, stochastic);
    EXPECT_TRUE(torch::equal(op.codes.to(torch::kFloat) * op.scales.view({-1, 1}),
                             fake_quantize(t, stochastic)));
    // A bf16 input is quantized in float32.
    EXPECT_TRUE(
        torch::equal(int8_operand(t.to(torch::kBFloat16), stochastic).codes,
                     int8_operand(t.to(torch::kBFloat16).to(torch::kFloat), stochastic).codes));
}

// Σ_k a[n, k]·w[o, k] in int64, one element at a time.
std::vector<int64_t> integer_products(const torch::Tensor& a, const torch::Tensor& w) {
    const int64_t n = a.size(0);
    const int64_t in = a.size(1);
    const int64_t out = w.size(0);
    const auto ac = a.accessor<int8_t, 2>();
    const auto wc = w.accessor<int8_t, 2>();
    std::vector<int64_t> sums(static_cast<size_t>(n * out), 0);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t o = 0; o < out; ++o) {
            int64_t s = 0;
            for (int64_t k = 0; k < in; ++k) {
                s += static_cast<int64_t>(ac[i][k]) * static_cast<int64_t>(wc[o][k]);
            }
            sums[static_cast<size_t>(i * out + o)] = s;
        }
    }
    return sums;
}

TEST(Int8Gemm, ProductIsTheIntegerSumRescaled) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(21);
    // Odd shapes exercise every tail; the last one has sums near 2^24, still exact in float32.
    const std::vector<std::array<int64_t, 3>> shapes = {
        {1, 3, 5}, {7, 13, 9}, {33, 128, 48}, {64, 100, 1}};
    for (const auto& [n, in, out] : shapes) {
        const torch::Tensor a = torch::randint(-128, 128, {n, in}, gen, torch::kInt8);
        const torch::Tensor w = torch::randint(-128, 128, {out, in}, gen, torch::kInt8);
        const torch::Tensor sa = torch::rand({n}, gen, torch::kFloat) + 0.01;
        const torch::Tensor sw = torch::rand({out}, gen, torch::kFloat) + 0.01;
        const std::vector<int64_t> sums = integer_products(a, w);
        const torch::Tensor exact = int8_linear({a, torch::ones({n})}, {w, torch::ones({out})});
        const torch::Tensor y = int8_linear({a, sa}, {w, sw});
        const auto e = exact.accessor<float, 2>();
        const auto yy = y.accessor<float, 2>();
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t o = 0; o < out; ++o) {
                const int64_t sum = sums[static_cast<size_t>(i * out + o)];
                ASSERT_EQ(static_cast<int64_t>(e[i][o]), sum) << n << "x" << in << "x" << out;
                // Three float32 roundings (the sum, ·s_A, ·s_W): within 3·2^-24 relative.
                const double want =
                    static_cast<double>(sum) * sa[i].item<double>() * sw[o].item<double>();
                EXPECT_NEAR(yy[i][o], want, 3 * std::ldexp(std::abs(want), -24) + 1e-30);
            }
        }
    }
    // The extreme: -128·-128 summed 1000 times is 16384000 (< 2^24, so exact in float32 too).
    const torch::Tensor low = torch::full({17, 1000}, -128, torch::kInt8);
    const torch::Tensor y =
        int8_linear({low, torch::ones({1})}, {low.slice(0, 0, 3), torch::ones({1})});
    EXPECT_TRUE(torch::equal(y, torch::full({17, 3}, 16384000.0f)));
}

struct Operands {
    torch::Tensor x;  // (B, T, in)
    torch::Tensor w;  // (out, in)
    torch::Tensor b;  // (out)
    torch::Tensor g;  // (B, T, out)
};

Operands operands(uint64_t seed) {
    Operands o{randn({3, 8, 96}, seed),
               randn({40, 96}, seed + 1) * 0.1,
               randn({40}, seed + 2),
               randn({3, 8, 40}, seed + 3)};
    o.x.requires_grad_(true);
    o.w.requires_grad_(true);
    o.b.requires_grad_(true);
    return o;
}

// The CPU rescale (one pass: conversion, both scales, bias) against LibTorch's op chain on the
// same int32 sums, bit for bit: sums beyond 2^24 (where the conversion rounds), scales per row or
// per tensor and per column or per tensor, with and without a bias, rows ending in every vector
// tail, on one and two threads.
TEST(Int8Gemm, CpuRescaleIsTheLibTorchChainBitForBit) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(5);
    const std::vector<std::array<int64_t, 2>> shapes = {{1, 1}, {3, 17}, {33, 100}, {130, 515}};
    for (const auto& [rows, cols] : shapes) {
        const torch::Tensor sums =
            torch::randint(-(int64_t{1} << 30), int64_t{1} << 30, {rows, cols}, gen, torch::kInt);
        for (const bool per_row : {true, false}) {
            for (const bool per_column : {true, false}) {
                for (const bool with_bias : {true, false}) {
                    const torch::Tensor rs = torch::rand({per_row ? rows : 1}, gen) + 0.01;
                    const torch::Tensor cs = torch::rand({per_column ? cols : 1}, gen) + 0.01;
                    const torch::Tensor bias = torch::randn({cols}, gen);
                    torch::Tensor want = torch::mul(sums, rs.view({-1, 1})).mul_(cs.view({1, -1}));
                    if (with_bias) {
                        want.add_(bias);
                    }
                    for (const int threads : {1, 2}) {
                        torch::Tensor got = torch::empty({rows, cols});
                        ASSERT_EQ(kernels::int8_rescale_cpu_parallel(
                                      sums.data_ptr<std::int32_t>(),
                                      rows,
                                      cols,
                                      rs.data_ptr<float>(),
                                      rs.numel(),
                                      cs.data_ptr<float>(),
                                      cs.numel(),
                                      with_bias ? bias.data_ptr<float>() : nullptr,
                                      got.data_ptr<float>(),
                                      threads),
                                  kernels::Status::kOk);
                        EXPECT_TRUE(torch::equal(got, want))
                            << rows << "x" << cols << (per_row ? " per row" : " per tensor")
                            << (per_column ? ", per column" : ", per tensor")
                            << (with_bias ? ", bias" : "") << ", " << threads << " threads";
                    }
                }
            }
        }
    }
    // Hand-worked: (3·0.5)·2 + 1 = 4 and (-5·0.5)·4 - 1 = -11.
    const std::int32_t s[] = {3, -5};
    const float r[] = {0.5f};
    const float c[] = {2.0f, 4.0f};
    const float b[] = {1.0f, -1.0f};
    float y[2] = {};
    ASSERT_EQ(kernels::int8_rescale_cpu_parallel(s, 1, 2, r, 1, c, 2, b, y, 1),
              kernels::Status::kOk);
    EXPECT_EQ(y[0], 4.0f);
    EXPECT_EQ(y[1], -11.0f);
    // A scale count that is neither 1 nor the size, a null buffer, a negative size.
    EXPECT_EQ(kernels::int8_rescale_cpu_parallel(s, 1, 2, r, 1, c, 3, b, y, 1),
              kernels::Status::kBadArgument);
    EXPECT_EQ(kernels::int8_rescale_cpu_parallel(s, 1, 2, r, 1, nullptr, 2, b, y, 1),
              kernels::Status::kBadArgument);
    EXPECT_EQ(kernels::int8_rescale_cpu_parallel(s, -1, 2, r, 1, c, 2, b, y, 1),
              kernels::Status::kBadShape);
}

// int8_linear's bias is the chain's add after both scales: equal bit for bit to adding it to the
// product without one.
TEST(Int8Gemm, BiasIsAddedAfterBothScales) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(8);
    const torch::Tensor a = torch::randint(-128, 128, {19, 40}, gen, torch::kInt8);
    const torch::Tensor w = torch::randint(-128, 128, {23, 40}, gen, torch::kInt8);
    const torch::Tensor sa = torch::rand({19}, gen) + 0.01;
    const torch::Tensor sw = torch::rand({23}, gen) + 0.01;
    const torch::Tensor bias = torch::randn({23}, gen);
    const torch::Tensor plain = int8_linear({a, sa}, {w, sw});
    EXPECT_TRUE(torch::equal(int8_linear({a, sa}, {w, sw}, bias), plain + bias));
}

TEST(Int8Gemm, ForwardWithinTheFloatGemmBoundAndGradientsUnchanged) {
    for (const config::BackwardMode backward :
         {config::BackwardMode::kPaper, config::BackwardMode::kSte}) {
        for (const kernels::Granularity a_granularity :
             {kernels::Granularity::kPerToken, kernels::Granularity::kPerTensor}) {
            QuantizedLinearCall call;
            call.weight = quantizer(8, kernels::Granularity::kPerChannel);
            call.activation = quantizer(8, a_granularity);
            call.grad_output = quantizer(8, kernels::Granularity::kPerToken);
            call.backward = backward;
            Operands fake = operands(40);
            Operands int8 = operands(40);
            const torch::Tensor y_fake = quantized_linear(fake.x, fake.w, fake.b, call);
            call.forward_gemm = config::ForwardGemm::kInt8;
            WeightQuantCache cache;
            const torch::Tensor y_int8 = quantized_linear(int8.x, int8.w, int8.b, call, &cache);
            EXPECT_EQ(cache.computations(), 1);
            // |fl(Σ) - Σ| ≤ γ_in·Σ|Q_A(x)|·|Q_W(w)| with γ_in = in·2^-24/(1 - in·2^-24), plus the
            // bias addition; the int8 side rounds only its sum and two products.
            const torch::Tensor xq =
                fake_quantize(fake.x.detach().reshape({-1, 96}), *call.activation);
            const torch::Tensor wq = fake_quantize(fake.w.detach(), *call.weight);
            const double gamma = (96 + 4) * std::ldexp(1.0, -24);
            const torch::Tensor bound =
                (xq.abs().mm(wq.abs().t()) + fake.b.detach().abs()).mul(gamma).view({3, 8, 40});
            EXPECT_TRUE(((y_int8 - y_fake).abs() <= bound).all().item<bool>());
            EXPECT_FALSE(torch::equal(y_int8, y_fake));  // the sums do round differently
            y_fake.backward(fake.g);
            y_int8.backward(int8.g);
            EXPECT_TRUE(torch::equal(int8.x.grad(), fake.x.grad()));
            EXPECT_TRUE(torch::equal(int8.w.grad(), fake.w.grad()));
            EXPECT_TRUE(torch::equal(int8.b.grad(), fake.b.grad()));
        }
    }
}

TEST(Int8Gemm, WeightCacheKeepsTheCodesPerVersion) {
    torch::Tensor w = randn({16, 24}, 8).requires_grad_(true);
    const auto p = quantizer(8, kernels::Granularity::kPerChannel);
    WeightQuantCache cache;
    const Int8Operand first = cache.get_int8(w, p);
    EXPECT_TRUE(torch::equal(first.codes, int8_operand(w.detach(), p).codes));
    EXPECT_TRUE(cache.get_int8(w, p).codes.is_same(first.codes));
    EXPECT_EQ(cache.computations(), 1);
    {
        torch::NoGradGuard no_grad;
        w.mul_(2.0f);
    }
    const Int8Operand second = cache.get_int8(w, p);
    EXPECT_EQ(cache.computations(), 2);
    EXPECT_TRUE(torch::equal(second.scales, first.scales * 2));
}

TEST(Int8Gemm, RecipeSwitchReachesEveryQuantizedLayer) {
    const config::Recipe recipe = config::parse_recipe_yaml(
        "model: {layers: 1, d_model: 32, heads: 2, context: 16}\n"
        "quant:\n"
        "  weight: {bits: 8}\n"
        "  activation: {bits: 8}\n"
        "  grad_output: {bits: 8}\n"
        "  forward_gemm: int8\n",
        "int8");
    const auto model = model::create_model(model::model_config_from_spec(recipe.model, 256), 1);
    const QuantPlan plan = resolve_quant_plan(recipe, *model);
    ASSERT_FALSE(plan.layers.empty());
    for (const auto& layer : plan.layers) {
        EXPECT_EQ(layer->forward_gemm, config::ForwardGemm::kInt8) << layer->path;
        EXPECT_NE(describe(*layer).find("int8 forward GEMM"), std::string::npos);
        EXPECT_EQ(quantized_linear_call(*layer, 1, 0).forward_gemm, config::ForwardGemm::kInt8);
    }
}

}  // namespace
}  // namespace lowbit::quant
