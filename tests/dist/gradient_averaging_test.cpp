// average_gradients against the hand-computed mean of two ranks' gradients: one bucket and many
// (a bucket limit smaller than a parameter), a missing gradient counted as zeros, mixed dtypes,
// and the result bit-identical on both ranks; the riders summed, in the last bucket or alone.
#include "lowbit/dist/gradient_averaging.h"

#include <gtest/gtest.h>

#include "dist_test_util.h"

namespace lowbit::dist {
namespace {

// Rank r's gradients: parameter k (shape k+1 by 3) filled with (r + 1) * (k + 1) * [0, 1, ...]
// scaled by 0.1, so the mean over ranks 0 and 1 is 1.5 times rank 0's.
std::vector<torch::Tensor> make_parameters(int rank, bool leave_last_without_grad) {
    std::vector<torch::Tensor> parameters;
    for (int k = 0; k < 4; ++k) {
        torch::Tensor p = torch::zeros({k + 1, 3}, k == 2 ? torch::kFloat64 : torch::kFloat32);
        if (!(leave_last_without_grad && k == 3)) {
            p.mutable_grad() = torch::arange((k + 1) * 3, p.options()).reshape({k + 1, 3}) *
                               (0.1 * (rank + 1) * (k + 1));
        }
        parameters.push_back(p);
    }
    return parameters;
}

void expect_means(int64_t bucket_bytes, bool leave_last_without_grad) {
    std::vector<std::vector<torch::Tensor>> results(2);
    std::vector<torch::Tensor> riders(2);
    run_two_ranks([&](World& world) {
        std::vector<torch::Tensor> parameters =
            make_parameters(world.rank(), leave_last_without_grad);
        // rank 0: [1, 0.25], rank 1: [2, 0]
        torch::Tensor r = torch::tensor(
            {1.0f + static_cast<float>(world.rank()), world.rank() == 0 ? 0.25f : 0.0f});
        average_gradients(world, parameters, r, bucket_bytes);
        results[static_cast<std::size_t>(world.rank())] = parameters;
        riders[static_cast<std::size_t>(world.rank())] = r;
    });
    for (const torch::Tensor& r : riders) {
        EXPECT_TRUE(torch::equal(r, torch::tensor({3.0f, 0.25f})));
    }
    const std::vector<torch::Tensor> rank0 = make_parameters(0, leave_last_without_grad);
    const std::vector<torch::Tensor> rank1 = make_parameters(1, leave_last_without_grad);
    for (std::size_t k = 0; k < rank0.size(); ++k) {
        const torch::Tensor expected = rank0[k].grad().defined()
                                           ? (rank0[k].grad() + rank1[k].grad()) / 2
                                           : torch::zeros_like(rank0[k]);
        for (int r = 0; r < 2; ++r) {
            const torch::Tensor& got = results[static_cast<std::size_t>(r)][k].grad();
            ASSERT_TRUE(got.defined());
            EXPECT_EQ(got.scalar_type(), rank0[k].scalar_type());
            EXPECT_TRUE(torch::allclose(got, expected, 1e-6, 1e-12)) << "parameter " << k;
        }
        EXPECT_TRUE(torch::equal(results[0][k].grad(), results[1][k].grad())) << "parameter " << k;
    }
}

TEST(GradientAveraging, OneBucketGivesTheMeanOnEveryRank) {
    expect_means(kGradientBucketBytes, false);
}

TEST(GradientAveraging, ManySmallBucketsGiveTheSameMean) {
    expect_means(16, false);  // smaller than any parameter: one bucket each
}

TEST(GradientAveraging, AMissingGradientCountsAsZeros) {
    expect_means(kGradientBucketBytes, true);
}

TEST(GradientAveraging, RidersWithoutAFloat32BucketTravelAlone) {
    std::vector<torch::Tensor> riders(2);
    std::vector<torch::Tensor> grads(2);
    run_two_ranks([&](World& world) {
        torch::Tensor p = torch::zeros({2}, torch::kFloat64);
        p.mutable_grad() = torch::tensor({1.0, 3.0}) * (world.rank() + 1);
        torch::Tensor r = torch::tensor({0.5f});
        average_gradients(world, {p}, r);
        riders[static_cast<std::size_t>(world.rank())] = r;
        grads[static_cast<std::size_t>(world.rank())] = p.grad();
    });
    for (int rank = 0; rank < 2; ++rank) {
        EXPECT_TRUE(torch::equal(riders[static_cast<std::size_t>(rank)], torch::tensor({1.0f})));
        EXPECT_TRUE(torch::equal(grads[static_cast<std::size_t>(rank)], torch::tensor({1.5, 4.5})));
    }
}

}  // namespace
}  // namespace lowbit::dist
