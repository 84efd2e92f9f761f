// global_norm and clip_gradients (docs/training.md §Step) against LibTorch's own
// clip_grad_norm_ (the same gradients bit for bit, the same norm) and against the norm written out
// in float64 (within float32 rounding).
#include "lowbit/train/gradient_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lowbit::train {
namespace {

std::vector<torch::Tensor> parameters_with_grads(std::uint64_t seed, double grad_scale) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<torch::Tensor> params;
    for (const std::vector<std::int64_t>& shape :
         std::vector<std::vector<std::int64_t>>{{7, 5}, {13}, {3, 4, 6}}) {
        torch::Tensor p = torch::randn(shape, gen, torch::kFloat32).requires_grad_(true);
        p.mutable_grad() = torch::randn(shape, gen, torch::kFloat32) * grad_scale;
        params.push_back(p);
    }
    params.push_back(torch::ones({4}).requires_grad_(true));  // no gradient: skipped
    return params;
}

std::vector<torch::Tensor> clone_with_grads(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> out;
    for (const torch::Tensor& p : params) {
        torch::Tensor c = p.detach().clone().requires_grad_(true);
        if (p.grad().defined()) {
            c.mutable_grad() = p.grad().clone();
        }
        out.push_back(c);
    }
    return out;
}

double norm_in_float64(const std::vector<torch::Tensor>& params) {
    double sumsq = 0;
    for (const torch::Tensor& p : params) {
        if (p.grad().defined()) {
            const torch::Tensor g = p.grad().to(torch::kFloat64).flatten();
            for (std::int64_t i = 0; i < g.numel(); ++i) {
                sumsq += g[i].item<double>() * g[i].item<double>();
            }
        }
    }
    return std::sqrt(sumsq);
}

TEST(GradientNorm, ClippingEqualsLibTorchsClipGradNorm) {
    for (double grad_scale : {0.01, 1.0, 30.0}) {  // below, around and above the clip of 1
        std::vector<torch::Tensor> ours = parameters_with_grads(8, grad_scale);
        std::vector<torch::Tensor> theirs = clone_with_grads(ours);
        const double expected_norm = norm_in_float64(ours);
        const torch::Tensor norm = clip_gradients(ours, 1.0);
        const double libtorch_norm = torch::nn::utils::clip_grad_norm_(theirs, 1.0);
        EXPECT_EQ(norm.item<double>(), libtorch_norm) << grad_scale;
        EXPECT_NEAR(norm.item<double>(), expected_norm, 1e-6 * expected_norm) << grad_scale;
        for (std::size_t i = 0; i + 1 < ours.size(); ++i) {
            EXPECT_TRUE(torch::equal(ours[i].grad(), theirs[i].grad())) << grad_scale << " " << i;
        }
        EXPECT_FALSE(ours.back().grad().defined());
    }
}

TEST(GradientNorm, GlobalNormOfGradientsAndOfWeights) {
    const std::vector<torch::Tensor> params = parameters_with_grads(9, 2.0);
    EXPECT_NEAR(global_norm(params, true).item<double>(),
                norm_in_float64(params),
                1e-6 * norm_in_float64(params));
    double weights_sumsq = 0;
    for (const torch::Tensor& p : params) {
        weights_sumsq += p.detach().to(torch::kFloat64).square().sum().item<double>();
    }
    EXPECT_NEAR(global_norm(params, false).item<double>(),
                std::sqrt(weights_sumsq),
                1e-6 * std::sqrt(weights_sumsq));
    EXPECT_EQ(global_norm({}, true).item<double>(), 0.0);
}

}  // namespace
}  // namespace lowbit::train
