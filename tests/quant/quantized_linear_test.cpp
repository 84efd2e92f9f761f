// QuantizedLinearFunction against explicit formulas written in the test with torch ops and
// fake_quantize (docs/quantized-pretraining.md §Quantized linear layer, §Backward modes): the
// forward bit for bit, each backward mode's dX, dW, db for every granularity on awkward shapes,
// the split q/k/v gradient blocks, identity with the quantizers off (also under a
// double-precision finite-difference check), bf16 autocast, and reproducible stochastic
// rounding.
#include "lowbit/quant/quantized_linear.h"

#include "lowbit/quant/fake_quantize.h"
#include "lowbit/util/autocast_guard.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace lowbit::quant {
namespace {

using config::BackwardMode;
using kernels::FakeQuantParams;
using kernels::Granularity;

// Awkward sizes from the brief: B = 3, T = 5 (N = 15 rows), in = 24, out = 40.
constexpr int64_t kBatch = 3;
constexpr int64_t kSeq = 5;
constexpr int64_t kIn = 24;
constexpr int64_t kOut = 40;

// The backward GEMMs below are the same torch ops on the same operands as in the Function, so
// they agree to the last bit in practice; the bound only allows a BLAS that picks another kernel
// for a transposed operand (a few ulp of the largest entry).
constexpr double kGemmRelTol = 1e-6;

FakeQuantParams params(int bits,
                       Granularity granularity,
                       float min_range,
                       bool symmetric = true,
                       int64_t group_size = 8) {
    FakeQuantParams p;
    p.bits = bits;
    p.granularity = granularity;
    p.min_range = min_range;
    p.symmetric = symmetric;
    p.group_size = group_size;
    return p;
}

struct Operands {
    torch::Tensor x;  // (B, T, in), leaf
    torch::Tensor w;  // (out, in), leaf
    torch::Tensor b;  // (out), leaf
    torch::Tensor g;  // (B, T, out): dL/dY fed to backward
};

Operands make_operands(int64_t out, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    auto randn = [&](std::vector<int64_t> shape, double scale) {
        return (torch::randn(shape, gen, torch::kFloat32) * scale);
    };
    Operands o;
    o.x = randn({kBatch, kSeq, kIn}, 1.0);
    o.x.select(1, 2).mul_(30.0);  // outlier tokens, so per-token and per-tensor scales differ
    o.w = randn({out, kIn}, 0.05);
    o.w.select(0, 3).zero_();  // an all-zero output channel (scale falls back to r_min)
    o.b = randn({out}, 0.1);
    o.g = randn({kBatch, kSeq, out}, 1e-3);  // gradients are small, as in training
    o.g.select(2, 1).mul_(100.0);            // one output column with larger gradients
    o.x.requires_grad_(true);
    o.w.requires_grad_(true);
    o.b.requires_grad_(true);
    return o;
}

double max_abs(const torch::Tensor& t) {
    return t.abs().max().item<double>();
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const char* what) {
    ASSERT_TRUE(actual.defined()) << what;
    ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
    const double tol = kGemmRelTol * std::max(max_abs(expected), 1e-30);
    EXPECT_LE(max_abs(actual - expected), tol) << what;
}

torch::Tensor fq(const torch::Tensor& t, const std::optional<FakeQuantParams>& p) {
    return p ? fake_quantize(t.detach(), *p) : t.detach();
}

// The quantizer set of one test case (nullopt = off).
struct Case {
    std::string name;
    std::optional<FakeQuantParams> w;
    std::optional<FakeQuantParams> a;
    std::optional<FakeQuantParams> g;
};

std::vector<Case> granularity_cases() {
    using G = Granularity;
    return {
        {"per_channel W / per_token A, G",
         params(8, G::kPerChannel, 1e-5f),
         params(8, G::kPerToken, 1e-5f),
         params(8, G::kPerToken, 1e-9f)},
        {"per_tensor",
         params(4, G::kPerTensor, 1e-5f),
         params(8, G::kPerTensor, 1e-5f),
         params(8, G::kPerTensor, 1e-9f)},
        {"per_group 8",
         params(4, G::kPerGroup, 1e-5f),
         params(4, G::kPerGroup, 1e-5f),
         params(4, G::kPerGroup, 1e-9f)},
        {"asymmetric 3-bit per-row",
         params(3, G::kPerChannel, 1e-5f, false),
         params(5, G::kPerToken, 1e-5f, false),
         params(6, G::kPerToken, 1e-9f, false)},
        {"W only", params(8, G::kPerChannel, 1e-5f), std::nullopt, std::nullopt},
        {"G only", std::nullopt, std::nullopt, params(8, G::kPerToken, 1e-9f)},
    };
}

TEST(QuantizedLinear, ForwardEqualsExplicitFormulaBitForBit) {
    for (const Case& c : granularity_cases()) {
        SCOPED_TRACE(c.name);
        const Operands o = make_operands(kOut, 11);
        QuantizedLinearCall call{c.w, c.a, c.g};
        const torch::Tensor y = quantized_linear(o.x, o.w, o.b, call);
        // Y = Q_A(X)·Q_W(W)ᵀ + b with X viewed as (B·T, in).
        const torch::Tensor expected =
            (torch::mm(fq(o.x.reshape({-1, kIn}), c.a), fq(o.w, c.w).t()) + o.b.detach())
                .view({kBatch, kSeq, kOut});
        ASSERT_EQ(y.sizes(), expected.sizes());
        EXPECT_TRUE(torch::equal(y.detach(), expected)) << max_abs(y.detach() - expected);
        // Evaluation (no grad) runs the same quantized forward.
        torch::NoGradGuard no_grad;
        EXPECT_TRUE(torch::equal(quantized_linear(o.x, o.w, o.b, call), expected));
    }
}

TEST(QuantizedLinear, EachBackwardModeMatchesItsFormula) {
    for (const Case& c : granularity_cases()) {
        for (BackwardMode mode : {BackwardMode::kPaper,
                                  BackwardMode::kSwitchback,
                                  BackwardMode::kBoth,
                                  BackwardMode::kSte}) {
            SCOPED_TRACE(c.name + ", backward " + config::to_string(mode));
            Operands o = make_operands(kOut, 23);
            QuantizedLinearCall call{c.w, c.a, c.g, mode};
            quantized_linear(o.x, o.w, o.b, call).backward(o.g);

            const torch::Tensor x = o.x.detach().reshape({-1, kIn});  // (N, in)
            const torch::Tensor w = o.w.detach();                     // (out, in)
            const torch::Tensor g = o.g.reshape({-1, kOut});          // (N, out)
            const torch::Tensor gq = fq(g, c.g);                      // Q_G(G), per token rows
            torch::Tensor dx;
            torch::Tensor dw;
            switch (mode) {
                case BackwardMode::kPaper:  // dX = G·W, dW = Q(G)ᵀ·X
                    dx = g.mm(w);
                    dw = gq.t().mm(x);
                    break;
                case BackwardMode::kSwitchback:  // dX = Q(G)·W, dW = Gᵀ·X
                    dx = gq.mm(w);
                    dw = g.t().mm(x);
                    break;
                case BackwardMode::kBoth:  // dX = Q(G)·W, dW = Q(G)ᵀ·X
                    dx = gq.mm(w);
                    dw = gq.t().mm(x);
                    break;
                case BackwardMode::kSte:  // dX = G'·Q(W), dW = G'ᵀ·Q(X), G' = Q(G) or G
                    dx = gq.mm(fq(w, c.w));
                    dw = gq.t().mm(fq(x, c.a));
                    break;
            }
            expect_close(o.x.grad(), dx.view({kBatch, kSeq, kIn}), "dX");
            expect_close(o.w.grad(), dw, "dW");
            expect_close(o.b.grad(), g.sum(0), "db");  // full-precision G always
        }
    }
}

TEST(QuantizedLinear, PaperModeDiffersFromSwitchbackWhenGIsQuantized) {
    // Guards the formulas above against a Function that ignores the mode.
    const auto p = params(4, Granularity::kPerToken, 1e-9f);
    Operands a = make_operands(kOut, 5);
    Operands b = make_operands(kOut, 5);
    quantized_linear(a.x, a.w, a.b, {std::nullopt, std::nullopt, p, BackwardMode::kPaper})
        .backward(a.g);
    quantized_linear(b.x, b.w, b.b, {std::nullopt, std::nullopt, p, BackwardMode::kSwitchback})
        .backward(b.g);
    EXPECT_FALSE(torch::equal(a.x.grad(), b.x.grad()));
    EXPECT_FALSE(torch::equal(a.w.grad(), b.w.grad()));
}

TEST(QuantizedLinear, SplitQkvGradQuantizesEachBlockSeparately) {
    constexpr int64_t kQkvOut = 48;  // three blocks of 16
    using G = Granularity;
    for (const FakeQuantParams& p : {params(4, G::kPerTensor, 1e-9f),
                                     params(4, G::kPerToken, 1e-9f),
                                     params(4, G::kPerGroup, 1e-9f)}) {
        SCOPED_TRACE(describe(p));
        Operands o = make_operands(kQkvOut, 31);
        o.g.narrow(2, 32, 16).mul_(50.0);  // the v block's gradients are much larger
        quantized_linear(o.x, o.w, o.b, {std::nullopt, std::nullopt, p, BackwardMode::kPaper, 3})
            .backward(o.g);
        const torch::Tensor g = o.g.reshape({-1, kQkvOut});
        // Each of the q, k, v column blocks (N, 16) quantized on its own, then side by side.
        const torch::Tensor gq = torch::cat({fake_quantize(g.narrow(1, 0, 16).contiguous(), p),
                                             fake_quantize(g.narrow(1, 16, 16).contiguous(), p),
                                             fake_quantize(g.narrow(1, 32, 16).contiguous(), p)},
                                            1);
        expect_close(o.w.grad(), gq.t().mm(o.x.detach().reshape({-1, kIn})), "dW");
        EXPECT_TRUE(torch::equal(quantize_grad_output(g, p, 3), gq));
        if (p.granularity == G::kPerTensor) {
            // One scale for all of G would flush the small q and k gradients differently.
            EXPECT_FALSE(torch::equal(fake_quantize(g, p), gq));
        }
    }
}

// Split q/k/v with one scale per sequence position: each block (B, T, 16) is quantized per
// position on its own (fake_quantize of the 3-D block, the adapter checked against torch), and
// the quantizer input telemetry records has exactly one row per (block, position) holding that
// block's values at that position over the batch.
TEST(QuantizedLinear, SplitQkvGradPerPositionQuantizesEachBlockPerPosition) {
    constexpr int64_t kQkvOut = 48;
    const FakeQuantParams p = params(4, Granularity::kPerPosition, 1e-9f);
    Operands o = make_operands(kQkvOut, 37);
    o.g.narrow(2, 32, 16).mul_(50.0);
    QuantizedLinearCall call{std::nullopt, std::nullopt, p, BackwardMode::kPaper, 3};
    quantized_linear(o.x, o.w, o.b, call).backward(o.g);
    const torch::Tensor gq = torch::cat({fake_quantize(o.g.narrow(2, 0, 16).contiguous(), p),
                                         fake_quantize(o.g.narrow(2, 16, 16).contiguous(), p),
                                         fake_quantize(o.g.narrow(2, 32, 16).contiguous(), p)},
                                        2)
                                 .reshape({-1, kQkvOut});
    expect_close(o.w.grad(), gq.t().mm(o.x.detach().reshape({-1, kIn})), "dW");
    const torch::Tensor g = o.g.reshape({-1, kQkvOut});
    EXPECT_TRUE(
        torch::equal(quantize_grad_output(g, p, 3, config::QuantArithmetic::kFp32, kSeq), gq));

    const QuantizerInput in = grad_output_quantizer_input(g, p, 3, kSeq);
    ASSERT_TRUE(in.params.has_value());
    ASSERT_EQ(in.x.sizes(), (torch::IntArrayRef{3 * kSeq, kBatch * 16}));
    for (int64_t block = 0; block < 3; ++block) {
        for (int64_t t = 0; t < kSeq; ++t) {
            const torch::Tensor expected =
                o.g.select(1, t).narrow(1, 16 * block, 16).reshape({-1});  // (B·16)
            EXPECT_TRUE(torch::equal(in.x[block * kSeq + t], expected)) << block << " " << t;
        }
    }
    // The activation's input for per_position is the (T, B·C) view: row t is position t.
    call.activation = p;
    call.positions = kSeq;
    const torch::Tensor x2d = o.x.detach().reshape({-1, kIn});
    const QuantizerInput a = activation_quantizer_input(x2d, call);
    ASSERT_EQ(a.x.sizes(), (torch::IntArrayRef{kSeq, kBatch * kIn}));
    EXPECT_TRUE(torch::equal(a.x[2], o.x.detach().select(1, 2).reshape({-1})));
}

TEST(QuantizedLinear, QuantizersOffReproduceTorchLinearAndItsAutograd) {
    Operands ours = make_operands(kOut, 41);
    Operands ref = make_operands(kOut, 41);
    const torch::Tensor y = quantized_linear(ours.x, ours.w, ours.b, QuantizedLinearCall{});
    const torch::Tensor y_ref = torch::nn::functional::linear(ref.x, ref.w, ref.b);
    EXPECT_TRUE(torch::equal(y.detach(), y_ref.detach()));
    y.backward(ours.g);
    y_ref.backward(ref.g);
    expect_close(ours.x.grad(), ref.x.grad(), "dX");
    expect_close(ours.w.grad(), ref.w.grad(), "dW");
    expect_close(ours.b.grad(), ref.b.grad(), "db");
}

TEST(QuantizedLinear, FiniteDifferencesInDoubleWithQuantizersOff) {
    // The quantizers are piecewise constant, so only the plumbing (which gradient goes where,
    // transposes, bias sum) can be checked by finite differences: in double with them off.
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
    std::vector<torch::Tensor> inputs = {torch::randn({4, 3}, gen, torch::kFloat64),  // x
                                         torch::randn({5, 3}, gen, torch::kFloat64),  // w
                                         torch::randn({5}, gen, torch::kFloat64)};    // b
    const torch::Tensor probe = torch::randn({4, 5}, gen, torch::kFloat64);
    auto loss = [&](const std::vector<torch::Tensor>& t) {
        return (quantized_linear(t[0], t[1], t[2], QuantizedLinearCall{}) * probe).sum();
    };
    for (auto& t : inputs) {
        t.requires_grad_(true);
    }
    loss(inputs).backward();
    constexpr double kStep = 1e-6;
    constexpr double kTol = 1e-7;  // central differences of a bilinear function: rounding only
    torch::NoGradGuard no_grad;
    for (size_t k = 0; k < inputs.size(); ++k) {
        for (int64_t i = 0; i < inputs[k].numel(); ++i) {
            std::vector<torch::Tensor> plus = inputs;
            std::vector<torch::Tensor> minus = inputs;
            plus[k] = inputs[k].detach().clone();
            minus[k] = inputs[k].detach().clone();
            plus[k].view({-1})[i] += kStep;
            minus[k].view({-1})[i] -= kStep;
            const double numeric = (loss(plus) - loss(minus)).item<double>() / (2 * kStep);
            EXPECT_NEAR(inputs[k].grad().view({-1})[i].item<double>(), numeric, kTol)
                << "input " << k << " element " << i;
        }
    }
}

TEST(QuantizedLinear, Bf16AutocastQuantizesMasterWeightAndRunsGemmsInBf16) {
    const auto p = params(8, Granularity::kPerChannel, 1e-5f);
    const auto pg = params(8, Granularity::kPerToken, 1e-9f);
    Operands o = make_operands(kOut, 53);
    torch::Tensor y;
    {
        util::AutocastGuard autocast(c10::DeviceType::CPU, true);
        y = quantized_linear(o.x, o.w, o.b, {p, p, pg, BackwardMode::kPaper});
    }
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    // Q_A on X in its own dtype (fp32 here), Q_W on the fp32 master W, then the bf16 GEMM.
    const torch::Tensor x = o.x.detach().reshape({-1, kIn});
    const torch::Tensor expected =
        torch::nn::functional::linear(fake_quantize(x, p).to(torch::kBFloat16),
                                      fake_quantize(o.w.detach(), p).to(torch::kBFloat16),
                                      o.b.detach().to(torch::kBFloat16));
    EXPECT_TRUE(torch::equal(y.detach().reshape({-1, kOut}), expected));
    y.backward(o.g.to(torch::kBFloat16));
    ASSERT_EQ(o.x.grad().scalar_type(), torch::kFloat32);
    ASSERT_EQ(o.w.grad().scalar_type(), torch::kFloat32);
    ASSERT_EQ(o.b.grad().scalar_type(), torch::kFloat32);
    const torch::Tensor g = o.g.to(torch::kBFloat16).reshape({-1, kOut});  // what backward sees
    const torch::Tensor gq = fake_quantize(g, pg);                         // bf16 in, bf16 out
    ASSERT_EQ(gq.scalar_type(), torch::kBFloat16);
    expect_close(o.x.grad().reshape({-1, kIn}),
                 g.mm(o.w.detach().to(torch::kBFloat16)).to(torch::kFloat32),
                 "dX");
    expect_close(o.w.grad(), gq.t().mm(x.to(torch::kBFloat16)).to(torch::kFloat32), "dW");
    expect_close(o.b.grad(), g.to(torch::kFloat32).sum(0), "db (summed in fp32)");
}

TEST(QuantizedLinear, StochasticRoundingSeedsAreReproducibleAndDistinct) {
    LayerQuantizers layer;
    layer.path = "blocks.0.mlp.fc1";
    layer.layer_index = 2;
    layer.recipe_seed = 1337;
    FakeQuantParams p = params(4, Granularity::kPerChannel, 1e-5f);
    p.rounding = kernels::Rounding::kStochastic;
    layer.weight = p;
    layer.activation = p;
    const Operands o = make_operands(kOut, 61);
    auto forward = [&](int64_t step, int64_t micro) {
        torch::NoGradGuard no_grad;
        return quantized_linear(o.x, o.w, o.b, quantized_linear_call(layer, step, micro));
    };
    EXPECT_TRUE(torch::equal(forward(7, 0), forward(7, 0)));  // same step: same rounding
    EXPECT_FALSE(torch::equal(forward(7, 0), forward(8, 0)));
    EXPECT_FALSE(torch::equal(forward(7, 0), forward(7, 1)));
    // The seed is a function of (recipe seed, layer, kind, step, micro-batch) only.
    const auto w7 = layer.params_at(TensorKind::kWeight, 7, 0);
    EXPECT_EQ(w7->seed, stochastic_rounding_seed(1337, 2, TensorKind::kWeight, 7, 0));
    EXPECT_NE(w7->seed, layer.params_at(TensorKind::kActivation, 7, 0)->seed);
    LayerQuantizers other = layer;
    other.layer_index = 3;
    EXPECT_NE(w7->seed, other.params_at(TensorKind::kWeight, 7, 0)->seed);
    // Round-to-nearest parameters carry no seed.
    layer.weight->rounding = kernels::Rounding::kNearest;
    EXPECT_EQ(layer.params_at(TensorKind::kWeight, 7, 0)->seed, 0u);
}

}  // namespace
}  // namespace lowbit::quant
