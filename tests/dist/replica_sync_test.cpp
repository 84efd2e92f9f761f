// check_replicas_identical across two ranks: equal weights pass, weights that differ in one
// element by one float32 ulp are reported on every rank with the step.
#include "lowbit/train/replica_sync.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dist_test_util.h"

namespace lowbit::train {
namespace {

std::vector<std::string> check_on_two_ranks(bool differ) {
    std::vector<std::string> errors(2);
    dist::run_two_ranks([&](dist::World& world) {
        std::vector<torch::Tensor> parameters{torch::linspace(-1.0, 1.0, 7),
                                              torch::full({2, 3}, 0.25f)};
        if (differ && world.rank() == 1) {
            auto a = parameters[1].accessor<float, 2>();
            a[1][2] = std::nextafter(a[1][2], 1.0f);
        }
        try {
            check_replicas_identical(world, parameters, 40);
        } catch (const dist::DistributedError& e) {
            errors[static_cast<std::size_t>(world.rank())] = e.what();
        }
    });
    return errors;
}

TEST(ReplicaSync, IdenticalWeightsPass) {
    for (const std::string& error : check_on_two_ranks(false)) {
        EXPECT_EQ(error, "");
    }
}

TEST(ReplicaSync, AOneUlpDifferenceIsReportedOnEveryRank) {
    for (const std::string& error : check_on_two_ranks(true)) {
        EXPECT_NE(error.find("weights differ after step 40"), std::string::npos) << error;
    }
}

}  // namespace
}  // namespace lowbit::train
