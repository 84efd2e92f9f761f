// The EfficientQAT group quantizer (docs/efficientqat.md §Quantizer, §Gradients) against
// hand-worked values: min-max initialisation, codes, idempotence and the straight-through
// gradients inside, below and above the grid.
#include "lowbit/qat/group_quantizer.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace lowbit::qat {
namespace {

TEST(GroupQuantizerTest, MinMaxInitialisationGivesTheHandWorkedGrid) {
    // One group of 4, 2 bits: min −0.3, max 0.6 -> s = 0.9 / 3 = 0.3, z = round(0.3 / 0.3) = 1,
    // codes round(w / s) + z = 0, 1, 2, 3.
    const torch::Tensor w = torch::tensor({{-0.3F, 0.0F, 0.3F, 0.6F}});
    const GroupQuantizer q(w, {.bits = 2, .group_size = 4});
    EXPECT_NEAR(q.step().item<float>(), 0.3F, 1e-7);
    EXPECT_EQ(q.zero_point().item<float>(), 1.0F);
    EXPECT_TRUE(torch::equal(q.codes(w), torch::tensor({{0, 1, 2, 3}}, torch::kUInt8)));
    EXPECT_TRUE(torch::allclose(q.fake_quantize(w), w, 0, 1e-6));
}

TEST(GroupQuantizerTest, AnAllPositiveGroupClampsItsZeroPointToZero) {
    // min 1, max 4, 2 bits: s = 1, z = round(−1) = −1 as initialised, used as 0, so the codes
    // are round(w) clamped to 3: 1, 2, 3, 3.
    const torch::Tensor w = torch::tensor({{1.0F, 2.0F, 3.0F, 4.0F}});
    const GroupQuantizer q(w, {.bits = 2, .group_size = 4});
    EXPECT_EQ(q.zero_point().item<float>(), -1.0F);
    EXPECT_EQ(q.effective_zero_point().item<uint8_t>(), 0);
    EXPECT_TRUE(torch::equal(q.codes(w), torch::tensor({{1, 2, 3, 3}}, torch::kUInt8)));
    EXPECT_TRUE(torch::equal(q.fake_quantize(w), torch::tensor({{1.0F, 2.0F, 3.0F, 3.0F}})));
}

TEST(GroupQuantizerTest, QuantizingTwiceChangesNothing) {
    for (const int bits : {2, 3, 4, 8}) {
        for (const int64_t group : {32, 64, 128}) {
            auto gen = torch::make_generator<at::CPUGeneratorImpl>(bits * 1000 + group);
            const torch::Tensor w = torch::randn({24, 256}, gen) * 0.05;
            GroupQuantizer q(w, {.bits = bits, .group_size = group});
            // Moved away from the initial values, as training leaves them.
            q.step().mul_(1.0 + 0.1 * torch::rand(q.step().sizes(), gen));
            const torch::Tensor once = q.fake_quantize(w);
            EXPECT_TRUE(torch::equal(q.fake_quantize(once), once)) << bits << " bits, g" << group;
        }
    }
}

TEST(GroupQuantizerTest, StraightThroughGradientsInsideBelowAndAboveTheGrid) {
    // s = 0.5, z = 1, 2 bits (codes 0..3). w / s = 0.4 (inside, code 1), −3 (below: −2 -> 0),
    // 4 (above: 5 -> 3), 1.2 (inside, code 2). Upstream gradients 1, 10, 100, 1000 keep the
    // cases apart:
    //   dW = 1 inside, 0 outside                         -> 1, 0, 0, 1000
    //   ds = round(w/s) − w/s inside, −z below, qmax − z above
    //      = 1·(0 − 0.4) + 10·(−1) + 100·(3 − 1) + 1000·(1 − 1.2) = −10.4
    //   dz = 0 inside, −s outside = 10·(−0.5) + 100·(−0.5) = −55
    // No LSQ gradient scale: these are the plain partial derivatives.
    torch::Tensor w = torch::tensor({{0.2F, -1.5F, 2.0F, 0.6F}}).requires_grad_(true);
    GroupQuantizer q(
        torch::tensor({{0.5F}}), torch::tensor({{1.0F}}), {.bits = 2, .group_size = 4});
    q.set_trainable(true, true);
    const torch::Tensor w_hat = q.fake_quantize(w);
    EXPECT_TRUE(torch::allclose(w_hat, torch::tensor({{0.0F, -0.5F, 1.0F, 0.5F}})));
    (w_hat * torch::tensor({{1.0F, 10.0F, 100.0F, 1000.0F}})).sum().backward();
    EXPECT_TRUE(torch::allclose(w.grad(), torch::tensor({{1.0F, 0.0F, 0.0F, 1000.0F}})));
    EXPECT_NEAR(q.step().grad().item<float>(), -10.4F, 1e-4);
    EXPECT_NEAR(q.zero_point().grad().item<float>(), -55.0F, 1e-5);
}

TEST(GroupQuantizerTest, TheStepIsClampedButStillLearns) {
    // s = 1e-6 is used as 1e-4 forward, and the clamp passes its gradient straight through.
    torch::Tensor w = torch::tensor({{1e-4F, 2e-4F}});
    GroupQuantizer q(
        torch::tensor({{1e-6F}}), torch::tensor({{0.0F}}), {.bits = 2, .group_size = 2});
    q.set_trainable(true, false);
    const torch::Tensor w_hat = q.fake_quantize(w);
    EXPECT_TRUE(torch::allclose(w_hat, torch::tensor({{1e-4F, 2e-4F}})));
    w_hat.sum().backward();
    ASSERT_TRUE(q.step().grad().defined());
}

TEST(GroupQuantizerTest, FinalizeRoundsTheStepToHalfPrecisionAndTheZeroPointToTheGrid) {
    GroupQuantizer q(torch::tensor({{0.1F, 0.3F}}),
                     torch::tensor({{2.4F, 17.0F}}),
                     {.bits = 4, .group_size = 1});
    q.finalize();
    EXPECT_EQ(q.step()[0][0].item<float>(), torch::tensor(0.1F).to(torch::kHalf).item<float>());
    EXPECT_EQ(q.zero_point()[0][0].item<float>(), 2.0F);
    EXPECT_EQ(q.zero_point()[0][1].item<float>(), 15.0F);
}

TEST(GroupQuantizerTest, RefusesBitsAndGroupsThatDoNotFit) {
    const torch::Tensor w = torch::zeros({4, 96});
    EXPECT_THROW(GroupQuantizer(w, {.bits = 5, .group_size = 32}), std::invalid_argument);
    EXPECT_THROW(GroupQuantizer(w, {.bits = 4, .group_size = 64}), std::invalid_argument);
    EXPECT_THROW(GroupQuantizer(w, {.bits = 4, .group_size = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::qat
