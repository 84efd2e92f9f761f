// Model building blocks against explicit formulas: GELU (tanh), the LayerNorms GPT-2 builds from
// its config, RMSNorm (formula and a hand-worked value), the Linear layer, and RoPE's
// relative-position property.
#include "lowbit/model/gpt2_model.h"
#include "lowbit/model/linear.h"
#include "lowbit/model/norms.h"
#include "lowbit/model/rope.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::model {
namespace {

TEST(Parts, GeluTanhMatchesFormula) {
    auto x = torch::linspace(-6, 6, 101, torch::kFloat64);
    const double k = std::sqrt(2.0 / M_PI);
    auto expected = 0.5 * x * (1 + torch::tanh(k * (x + 0.044715 * x.pow(3))));
    EXPECT_TRUE(torch::allclose(gelu_tanh(x), expected, 1e-12, 1e-12));
}

TEST(Parts, Gpt2LayerNormsMatchTheFormulaWithTheConfiguredEps) {
    // Our GPT-2 builds its LayerNorms (ln1, ln2 of each block, ln_f) from the config: affine,
    // over d_model, with eps = norm_eps. A large eps makes a dropped or default eps visible: with
    // per-row variances near 1, eps 0.5 instead of 1e-5 changes the output by about 20%.
    ModelConfig cfg;
    cfg.layers = 1;
    cfg.heads = 2;
    cfg.d_model = 8;
    cfg.d_ff = 32;
    cfg.context = 4;
    cfg.vocab_size = 16;
    cfg.norm_eps = 0.5;
    Gpt2Model model(cfg);
    const auto block = model->blocks->ptr<Gpt2BlockImpl>(0);
    torch::NoGradGuard no_grad;
    auto x = torch::randn({3, 5, 8}, torch::kFloat64).to(torch::kFloat32);
    for (auto* norm : {block->ln1.get(), block->ln2.get(), model->ln_f.get()}) {
        norm->weight.uniform_(0.5, 1.5);
        norm->bias.uniform_(-0.5, 0.5);
        // By hand, in float64: (x - mean) / sqrt(biased variance + eps) * weight + bias.
        const auto x64 = x.to(torch::kFloat64);
        const auto mean = x64.mean(-1, true);
        const auto var = (x64 - mean).pow(2).mean(-1, true);
        const auto expected =
            (x64 - mean) / torch::sqrt(var + 0.5) * norm->weight.to(torch::kFloat64) +
            norm->bias.to(torch::kFloat64);
        EXPECT_TRUE(torch::allclose(norm->forward(x).to(torch::kFloat64), expected, 1e-5, 1e-6));
        EXPECT_EQ(norm->weight.sizes(), (std::vector<int64_t>{8}));
    }
    // The whole model routes through them: ln_f's shift reaches the logits.
    const auto ids = torch::randint(0, 16, {2, 4}, torch::kInt64);
    const auto before = model->forward(ids);
    model->ln_f->bias.add_(1.0);
    EXPECT_FALSE(torch::allclose(model->forward(ids), before));
}

TEST(Parts, RmsNormMatchesFormula) {
    RmsNorm norm(8, 1e-6);
    torch::NoGradGuard no_grad;
    norm->named_parameters()["weight"].uniform_(0.5, 1.5);
    auto x = torch::randn({2, 3, 8});
    auto expected = x / torch::sqrt(x.pow(2).mean(-1, true) + 1e-6) * norm->weight();
    EXPECT_TRUE(torch::allclose(norm(x), expected, 1e-5, 1e-6));
    // By hand: x = (2, -2, 2, -2), eps 12: mean(x^2) + eps = 4 + 12 = 16, so x / 4 = (0.5, -0.5,
    // 0.5, -0.5), times the weight (1, 2, 3, 4) = (0.5, -1, 1.5, -2). All exact in float32.
    RmsNorm wide_eps(4, 12.0);
    wide_eps->named_parameters()["weight"].copy_(torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}));
    const auto y = wide_eps(torch::tensor({2.0f, -2.0f, 2.0f, -2.0f}));
    EXPECT_TRUE(torch::allclose(y, torch::tensor({0.5f, -1.0f, 1.5f, -2.0f}), 1e-6, 0.0)) << y;
}

TEST(Parts, LinearComputesXWtPlusB) {
    Linear linear(5, 3, true, "blocks.0.mlp.fc1", "fc1");
    torch::NoGradGuard no_grad;
    linear->named_parameters()["weight"].normal_();
    linear->named_parameters()["bias"].normal_();
    auto x = torch::randn({2, 4, 5});
    auto expected = torch::matmul(x, linear->weight().t()) + linear->bias();
    EXPECT_TRUE(torch::allclose(linear(x), expected, 1e-5, 1e-6));
    EXPECT_EQ(linear->weight().sizes(), (std::vector<int64_t>{3, 5}));
    EXPECT_EQ(linear->path(), "blocks.0.mlp.fc1");
}

TEST(Rope, PositionZeroIsIdentityAndNormsArePreserved) {
    auto [cos, sin] = rope_tables(10, 16, 10000.0, torch::kCPU);
    auto x = torch::randn({1, 2, 10, 16});
    auto y = apply_rope(x, cos, sin);
    using torch::indexing::Slice;
    EXPECT_TRUE(torch::allclose(y.index({Slice(), Slice(), 0}), x.index({Slice(), Slice(), 0})));
    EXPECT_TRUE(torch::allclose(y.norm(2, -1), x.norm(2, -1), 1e-5, 1e-5));
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
    // <R_m q, R_n k> must be the same for (m, n) and (m + s, n + s).
    const int64_t d = 16, seq = 24;
    auto [cos, sin] = rope_tables(seq, d, 500.0, torch::kCPU);
    auto q = torch::randn({d}, torch::kFloat32);
    auto k = torch::randn({d}, torch::kFloat32);
    auto qs = apply_rope(q.expand({1, 1, seq, d}).contiguous(), cos, sin)[0][0];  // (T, d)
    auto ks = apply_rope(k.expand({1, 1, seq, d}).contiguous(), cos, sin)[0][0];
    const double base = qs[5].dot(ks[2]).item<double>();
    for (int64_t shift : {1, 7, 15}) {
        EXPECT_NEAR(qs[5 + shift].dot(ks[2 + shift]).item<double>(), base, 1e-4) << shift;
    }
    EXPECT_GT(std::abs(qs[5].dot(ks[4]).item<double>() - base), 1e-4);
}

TEST(Rope, UsesRotateHalfPairing) {
    // A vector with only lane 0 set rotates into lane d/2 (not lane 1, the interleaved layout).
    const int64_t d = 8;
    auto [cos, sin] = rope_tables(2, d, 10000.0, torch::kCPU);
    auto x = torch::zeros({1, 1, 2, d});
    x.index_put_({0, 0, 1, 0}, 1.0);
    auto y = apply_rope(x, cos, sin)[0][0][1];
    EXPECT_NEAR(y[0].item<double>(), std::cos(1.0), 1e-6);
    EXPECT_NEAR(y[d / 2].item<double>(), std::sin(1.0), 1e-6);
    EXPECT_NEAR(y[1].item<double>(), 0.0, 1e-7);
}

}  // namespace
}  // namespace lowbit::model
