// E2E-QP (docs/efficientqat.md §E2E-QP): the step gradient is Σ over the group of (q − z)·∂L/∂Ŵ,
// training changes only the steps (codes and zero points byte-identical), lowers the loss on
// the windows it sees, and follows warmup then cosine.
#include "lowbit/qat/e2e_qp.h"

#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/packed_weight.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tiny_model.h"

namespace lowbit::qat {
namespace {

TEST(E2eQpTest, TheStepGradientIsTheGroupSumOfCenteredCodesTimesTheWeightGradient) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
    const int64_t out = 12;
    const int64_t in = 96;
    const int64_t group = 32;
    const torch::Tensor w = torch::randn({out, in}, gen);
    GroupQuantizer q(w, {.bits = 3, .group_size = group});
    q.finalize();
    PackedLinear layer(pack_weight(w, q));
    layer.steps().requires_grad_(true);
    const torch::Tensor x = torch::randn({5, in}, gen);
    const torch::Tensor upstream = torch::randn({5, out}, gen);
    (layer.forward(x, w, torch::Tensor()) * upstream).sum().backward();
    // ∂L/∂Ŵ = upstreamᵀ·x (out, in); grad_s[g, o] = Σ_{i in g} (q[o, i] − z[o, g])·∂L/∂Ŵ[o, i].
    const torch::Tensor grad_w = upstream.t().matmul(x);
    const torch::Tensor codes = q.codes(w).to(torch::kFloat32);
    const torch::Tensor zeros = q.effective_zero_point().to(torch::kFloat32);
    torch::Tensor expected = torch::zeros({in / group, out});
    for (int64_t o = 0; o < out; ++o) {
        for (int64_t i = 0; i < in; ++i) {
            const int64_t g = i / group;
            expected[g][o] += (codes[o][i] - zeros[o][g]) * grad_w[o][i];
        }
    }
    EXPECT_TRUE(torch::allclose(layer.steps().grad(), expected, 1e-4, 1e-4));
}

TEST(E2eQpTest, TrainingChangesOnlyTheStepsAndLowersTheLoss) {
    auto model = test::tiny_model(config::ModelFamily::kLlama, 11);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(12);
    // A learnable corpus: windows of a repeating sequence, so a few steps can lower the loss.
    const torch::Tensor windows =
        (torch::arange(17).unsqueeze(0) * 7 + torch::randint(0, 3, {64, 1}, gen)).remainder(97);
    BlockApOptions rtn;
    rtn.spec = {.bits = 2, .group_size = 32};
    rtn.epochs = 0;
    ActivationStreams s =
        block_zero_inputs(*model, windows.slice(1, 0, 16), windows.slice(1, 0, 16), 8);
    for (int64_t b = 0; b < 2; ++b) {
        train_block(*model, b, s, rtn, {});
    }
    std::vector<PackedWeight> before;
    for (const auto& layer : packed_layers(*model)) {
        before.push_back(layer->packed());
    }
    E2eQpOptions o;
    o.lr = 1e-2;
    o.global_batch = 16;
    o.micro_batch = 8;
    o.epochs = 3;
    std::vector<E2eQpStep> steps;
    train_steps_end_to_end(*model, windows, o, [&](const E2eQpStep& st) { steps.push_back(st); });
    ASSERT_EQ(steps.size(), 12U);
    EXPECT_LT(steps.back().loss, steps.front().loss);
    const auto after = packed_layers(*model);
    bool some_step_changed = false;
    for (size_t i = 0; i < after.size(); ++i) {
        const PackedWeight p = after[i]->packed();
        EXPECT_TRUE(torch::equal(p.qweight, before[i].qweight));
        EXPECT_TRUE(torch::equal(p.qzeros, before[i].qzeros));
        EXPECT_TRUE(torch::equal(p.g_idx, before[i].g_idx));
        some_step_changed = some_step_changed || !torch::equal(p.scales, before[i].scales);
    }
    EXPECT_TRUE(some_step_changed);
    for (const auto& param : model->parameters()) {
        EXPECT_FALSE(param.requires_grad());
    }
}

TEST(E2eQpTest, WarmupThenCosine) {
    // 100 steps, 3 % warmup: steps 0..2 at lr/3, 2lr/3, lr; then a cosine over 97 steps to 0.
    EXPECT_DOUBLE_EQ(e2e_qp_learning_rate(3e-5, 0.03, 0, 100), 1e-5);
    EXPECT_DOUBLE_EQ(e2e_qp_learning_rate(3e-5, 0.03, 2, 100), 3e-5);
    EXPECT_DOUBLE_EQ(e2e_qp_learning_rate(3e-5, 0.03, 3, 100), 3e-5);
    EXPECT_NEAR(e2e_qp_learning_rate(3e-5, 0.03, 51, 100),
                3e-5 * 0.5 * (1 + std::cos(std::numbers::pi * 48.0 / 97.0)),
                1e-18);
}

}  // namespace
}  // namespace lowbit::qat
