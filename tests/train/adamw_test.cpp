// Our AdamW against LibTorch's torch::optim::AdamW (an independent implementation) configured
// the same way: weight decay on matrices only, via two parameter groups.
#include "lowbit/train/adamw.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

namespace lowbit::train {
namespace {

TEST(AdamWTest, MatchesLibTorchAdamWWithDecayOnMatricesOnly) {
    torch::manual_seed(3);
    const auto matrix = torch::randn({7, 5});
    const auto vector = torch::randn({5});
    auto ours_w = matrix.clone().requires_grad_(true);
    auto ours_b = vector.clone().requires_grad_(true);
    auto ref_w = matrix.clone().requires_grad_(true);
    auto ref_b = vector.clone().requires_grad_(true);

    AdamWOptions options{.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
    AdamW ours({{"w", ours_w}, {"b", ours_b}}, options);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(
        std::vector<torch::Tensor>{ref_w},
        std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1)));
    groups.emplace_back(
        std::vector<torch::Tensor>{ref_b},
        std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
    torch::optim::AdamW reference(std::move(groups));

    for (int step = 0; step < 30; ++step) {
        const auto target = torch::randn({7});
        const auto input = torch::randn({5});
        auto loss_ours = (torch::mv(ours_w, input + ours_b) - target).square().sum();
        auto loss_ref = (torch::mv(ref_w, input + ref_b) - target).square().sum();
        ours_w.mutable_grad() = torch::Tensor();
        ours_b.mutable_grad() = torch::Tensor();
        reference.zero_grad();
        loss_ours.backward();
        loss_ref.backward();
        ours.step(1e-2);
        reference.step();
        ASSERT_TRUE(torch::allclose(ours_w, ref_w, 1e-6, 1e-6)) << "step " << step;
        ASSERT_TRUE(torch::allclose(ours_b, ref_b, 1e-6, 1e-6)) << "step " << step;
    }
    EXPECT_EQ(ours.steps_taken(), 30);
    EXPECT_EQ(ours.state_bytes(), 2 * (35 + 5) * 4);
}

TEST(AdamWTest, StateRoundTripContinuesIdentically) {
    torch::manual_seed(4);
    auto w1 = torch::randn({4, 3}).requires_grad_(true);
    auto w2 = w1.detach().clone().requires_grad_(true);
    AdamW first({{"w", w1}}, {});
    auto grad = torch::randn({4, 3});
    for (int i = 0; i < 3; ++i) {
        w1.mutable_grad() = grad * (i + 1);
        first.step(1e-3);
    }
    AdamW second({{"w", w2}}, {});
    second.load_state(first.state());
    {
        torch::NoGradGuard no_grad;
        w2.copy_(w1);
    }
    w1.mutable_grad() = grad;
    w2.mutable_grad() = grad;
    first.step(1e-3);
    second.step(1e-3);
    EXPECT_TRUE(torch::equal(w1, w2));
}

TEST(AdamWTest, LoadStateRejectsMissingOrMisshapenTensors) {
    auto w = torch::zeros({2, 2}).requires_grad_(true);
    AdamW optimizer({{"w", w}}, {});
    auto state = optimizer.state();
    auto missing = state;
    missing.erase(missing.begin());
    EXPECT_THROW(optimizer.load_state(missing), std::runtime_error);
    auto misshapen = state;
    misshapen[0].second = torch::zeros({3});
    EXPECT_THROW(optimizer.load_state(misshapen), std::runtime_error);
}

}  // namespace
}  // namespace lowbit::train
