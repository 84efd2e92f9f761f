// Error-feedback memory through a checkpoint on two ranks (threads over loopback): gathered on
// rank 0 under rank-prefixed names, each rank's equal to its own; handed back by a resumed job of
// the same world size, each rank gets its own; a checkpoint of another world size hands out
// nothing; a malformed entry fails every rank instead of leaving one waiting.
#include "lowbit/train/gradient_feedback_state.h"

#include "lowbit/util/exit_codes.h"

#include <gtest/gtest.h>

#include <map>

#include "dist_test_util.h"

namespace lowbit::train {
namespace {

using dist::GradientExchange;
using dist::World;

config::DistributedSpec int8_with_feedback() {
    config::DistributedSpec spec;
    spec.gradient_allreduce = config::GradientAllreduce::kInt8;
    spec.error_feedback = true;
    return spec;
}

// Two exchanges of rank-dependent gradients (800 values: one bucket), so that memory exists.
void exchange_twice(World& world, GradientExchange& exchange) {
    torch::Tensor p = torch::zeros({800});
    for (int step = 0; step < 2; ++step) {
        p.mutable_grad() = torch::linspace(-1, 1, 800) * (world.rank() + 1.37) + 0.001 * step;
        torch::Tensor riders = torch::tensor({0.0f});
        exchange.average(world, {p}, riders);
    }
}

std::map<std::string, torch::Tensor> as_map(const NamedTensors& tensors) {
    return {tensors.begin(), tensors.end()};
}

TEST(GradientFeedbackState, GatheredOnRankZeroAndHandedBackToEachRank) {
    std::vector<NamedTensors> own(2), gathered(2), restored(2);
    dist::run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        GradientExchange exchange(int8_with_feedback());
        exchange_twice(world, exchange);
        own[r] = exchange.residuals();
        gathered[r] = gather_gradient_feedback(world, exchange);

        GradientExchange resumed(int8_with_feedback());
        restore_gradient_feedback(world, resumed, gathered[r]);  // rank 1 passes nothing
        restored[r] = resumed.residuals();
    });
    EXPECT_TRUE(gathered[1].empty());
    const auto all = as_map(gathered[0]);
    ASSERT_EQ(all.size(), 4u);
    for (std::size_t r = 0; r < 2; ++r) {
        ASSERT_EQ(own[r].size(), 2u);
        ASSERT_EQ(restored[r].size(), 2u);
        for (std::size_t k = 0; k < 2; ++k) {
            const auto& [name, tensor] = own[r][k];
            const std::string prefixed = "rank" + std::to_string(r) + "." + name;
            ASSERT_TRUE(all.count(prefixed)) << prefixed;
            EXPECT_TRUE(torch::equal(all.at(prefixed), tensor)) << prefixed;
            EXPECT_EQ(restored[r][k].first, name);
            EXPECT_TRUE(torch::equal(restored[r][k].second, tensor)) << prefixed;
        }
    }
    // The ranks' memories differ (their gradients did), so each got its own back.
    EXPECT_FALSE(torch::equal(own[0][0].second, own[1][0].second));
}

TEST(GradientFeedbackState, ACheckpointOfAnotherWorldSizeHandsOutNothing) {
    std::vector<NamedTensors> restored(2);
    dist::run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        // Written by three ranks.
        NamedTensors saved;
        if (world.is_writer()) {
            for (int k = 0; k < 3; ++k) {
                saved.emplace_back("rank" + std::to_string(k) + ".sent.0", torch::ones({800}));
            }
        }
        GradientExchange resumed(int8_with_feedback());
        restore_gradient_feedback(world, resumed, saved);
        restored[r] = resumed.residuals();
    });
    EXPECT_TRUE(restored[0].empty());
    EXPECT_TRUE(restored[1].empty());
}

// Per rank, "bad input: ..." or "distributed: ..." when restoring rank 0's `saved` failed there
// (empty when it did not fail).
std::vector<std::string> restore_errors(const NamedTensors& saved) {
    std::vector<std::string> errors(2);
    dist::run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        GradientExchange resumed(int8_with_feedback());
        try {
            restore_gradient_feedback(world, resumed, world.is_writer() ? saved : NamedTensors{});
        } catch (const util::BadInput& e) {
            errors[r] = std::string("bad input: ") + e.what();
        } catch (const dist::DistributedError& e) {
            errors[r] = std::string("distributed: ") + e.what();
        }
    });
    return errors;
}

TEST(GradientFeedbackState, AMalformedEntryFailsEveryRank) {
    const std::vector<std::string> errors =
        restore_errors({{"rank0.sent.0", torch::zeros({8})}, {"rank1.kept.0", torch::zeros({8})}});
    EXPECT_NE(errors[0].find("bad input: "), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("kept.0"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("distributed: "), std::string::npos) << errors[1];
}

TEST(GradientFeedbackState, AnEntryWithoutARankPrefixIsRefusedOnRankZero) {
    for (const char* name : {"sent.0", "rank.sent.0", "rankx.sent.0", "ra", "rank-1.sent.0"}) {
        const std::vector<std::string> errors = restore_errors({{name, torch::zeros({8})}});
        EXPECT_NE(errors[0].find("is not named rank<r>.<memory>"), std::string::npos)
            << name << ": " << errors[0];
        EXPECT_NE(errors[1].find("distributed: "), std::string::npos) << name << ": " << errors[1];
    }
}

}  // namespace
}  // namespace lowbit::train
