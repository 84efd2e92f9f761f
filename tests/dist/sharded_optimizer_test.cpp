// ShardedOptimizer on two ranks (threads over loopback) against one QuantizedAdamW over all the
// parameters: the owners balance by stored bytes (hand-worked), every step leaves both ranks with
// the unsharded optimizer's parameters bit for bit, the shares' state bytes add up to the whole,
// the state gathered on rank 0 is the unsharded state, and a state loaded on rank 0 reaches the
// other rank's share.
#include "lowbit/train/sharded_optimizer.h"

#include <gtest/gtest.h>

#include <map>

#include "dist_test_util.h"

namespace lowbit::train {
namespace {

using kernels::Granularity;
using kernels::StateQuantFormat;

const AdamWOptions kOptions{.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};

StateQuantFormat eight_bit_per_channel() {
    StateQuantFormat f;
    f.bits = 8;
    f.granularity = Granularity::kPerChannel;
    return f;
}

StateQuantFormat four_bit_blocks() {
    StateQuantFormat f;
    f.bits = 4;
    f.granularity = Granularity::kPerBlock;
    f.block_size = 64;
    return f;
}

// Five parameters with float32, 8-bit and 4-bit moments, fresh (seeded) values.
std::vector<QuantizedAdamWParam> make_parameters() {
    torch::manual_seed(11);
    return {{"embed", torch::randn({40, 16}), std::nullopt, std::nullopt},
            {"fc1", torch::randn({64, 16}), eight_bit_per_channel(), eight_bit_per_channel()},
            {"fc2", torch::randn({16, 64}), four_bit_blocks(), eight_bit_per_channel()},
            {"norm", torch::randn({16}), std::nullopt, std::nullopt},
            {"head", torch::randn({32, 16}), eight_bit_per_channel(), four_bit_blocks()}};
}

// The gradients of every parameter for `steps` steps, the same on every rank (averaged
// already): [step][parameter]. Drawn before the rank threads start, which share the generator.
std::vector<std::vector<torch::Tensor>> gradients(int steps) {
    const std::vector<QuantizedAdamWParam> parameters = make_parameters();
    torch::manual_seed(1000);
    std::vector<std::vector<torch::Tensor>> out(static_cast<std::size_t>(steps));
    for (auto& step : out) {
        for (const auto& p : parameters) {
            step.push_back(torch::randn(p.param.sizes()));
        }
    }
    return out;
}

// Fresh copies of make_parameters(), one per rank thread.
std::vector<std::vector<QuantizedAdamWParam>> parameters_per_rank() {
    std::vector<std::vector<QuantizedAdamWParam>> out{make_parameters(), make_parameters()};
    return out;
}

std::unique_ptr<Optimizer> make_local(std::vector<QuantizedAdamWParam> parameters) {
    return std::make_unique<QuantizedAdamW>(std::move(parameters), kOptions);
}

std::map<std::string, torch::Tensor> by_name(const OptimizerState& state) {
    return {state.begin(), state.end()};
}

TEST(ShardedOptimizer, OwnersBalanceTheCostsGreedily) {
    // By decreasing cost: 5 to rank 0, 3 (the earlier) to rank 1, 3 to rank 1 (3 < 5), 1 to
    // rank 0 (5 < 6): loads 6 and 6.
    EXPECT_EQ(balance_owners({5, 3, 3, 1}, 2), (std::vector<int>{0, 1, 1, 0}));
    EXPECT_EQ(balance_owners({1, 1}, 3), (std::vector<int>{0, 1}));
    // 4-bit codes pack two per byte, 8-bit one, float32 four bytes.
    EXPECT_EQ(moment_bytes(make_parameters()[2]), 16 * 64 / 2 + 16 * 64);
    EXPECT_EQ(moment_bytes(make_parameters()[0]), 2 * 4 * 40 * 16);
}

TEST(ShardedOptimizer, StepsMatchTheUnshardedOptimizerBitForBit) {
    constexpr int kSteps = 4;
    const std::vector<std::vector<torch::Tensor>> grads = gradients(kSteps);
    std::vector<std::vector<QuantizedAdamWParam>> per_rank = parameters_per_rank();
    std::vector<QuantizedAdamWParam> reference_parameters = make_parameters();
    QuantizedAdamW reference(reference_parameters, kOptions);
    OptimizerState reference_state;
    for (int t = 0; t < kSteps; ++t) {
        for (std::size_t k = 0; k < reference_parameters.size(); ++k) {
            reference_parameters[k].param.mutable_grad() = grads[t][k].clone();
        }
        reference.step(1e-2);
    }
    reference_state = reference.state();

    std::vector<std::vector<torch::Tensor>> finals(2);
    std::vector<int64_t> share_bytes(2);
    OptimizerState gathered;
    dist::run_two_ranks([&](dist::World& world) {
        std::vector<QuantizedAdamWParam>& parameters =
            per_rank[static_cast<std::size_t>(world.rank())];
        std::vector<torch::Tensor> tensors;
        for (const auto& p : parameters) {
            tensors.push_back(p.param);
        }
        ShardedOptimizer sharded(world, parameters, make_local);
        for (int t = 0; t < kSteps; ++t) {
            for (std::size_t k = 0; k < tensors.size(); ++k) {
                tensors[k].mutable_grad() = grads[t][k].clone();
            }
            sharded.step(1e-2);
        }
        OptimizerState state = sharded.state();  // every rank takes part
        if (world.is_writer()) {
            gathered = state;
        }
        finals[static_cast<std::size_t>(world.rank())] = tensors;
        share_bytes[static_cast<std::size_t>(world.rank())] = sharded.state_bytes();
        EXPECT_EQ(sharded.steps_taken(), kSteps);
    });
    for (const auto& tensors : finals) {
        ASSERT_EQ(tensors.size(), reference_parameters.size());
        for (std::size_t k = 0; k < tensors.size(); ++k) {
            EXPECT_TRUE(torch::equal(tensors[k], reference_parameters[k].param))
                << reference_parameters[k].name;
        }
    }
    EXPECT_EQ(share_bytes[0] + share_bytes[1], reference.state_bytes());
    EXPECT_GT(share_bytes[0], 0);
    EXPECT_GT(share_bytes[1], 0);
    const auto expected = by_name(reference_state);
    const auto got = by_name(gathered);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, tensor] : expected) {
        ASSERT_TRUE(got.count(name)) << name;
        EXPECT_TRUE(torch::equal(got.at(name), tensor)) << name;
    }
}

TEST(ShardedOptimizer, AStateLoadedOnRankZeroReachesEveryShare) {
    // The unsharded optimizer after two steps, then one more step from there.
    const std::vector<std::vector<torch::Tensor>> grads = gradients(3);
    std::vector<std::vector<QuantizedAdamWParam>> per_rank = parameters_per_rank();
    std::vector<QuantizedAdamWParam> reference_parameters = make_parameters();
    QuantizedAdamW reference(reference_parameters, kOptions);
    OptimizerState after_two;
    std::vector<torch::Tensor> weights_after_two;
    for (int t = 0; t < 3; ++t) {
        if (t == 2) {
            for (const auto& [name, tensor] : reference.state()) {
                after_two.emplace_back(name, tensor.clone());
            }
            for (const auto& p : reference_parameters) {
                weights_after_two.push_back(p.param.clone());
            }
        }
        for (std::size_t k = 0; k < reference_parameters.size(); ++k) {
            reference_parameters[k].param.mutable_grad() = grads[t][k].clone();
        }
        reference.step(1e-2);
    }

    std::vector<std::vector<torch::Tensor>> finals(2);
    dist::run_two_ranks([&](dist::World& world) {
        std::vector<QuantizedAdamWParam>& parameters =
            per_rank[static_cast<std::size_t>(world.rank())];
        std::vector<torch::Tensor> tensors;
        for (std::size_t k = 0; k < parameters.size(); ++k) {
            parameters[k].param.detach().copy_(weights_after_two[k]);
            tensors.push_back(parameters[k].param);
        }
        ShardedOptimizer sharded(world, parameters, make_local);
        if (world.is_writer()) {
            sharded.load_state(after_two);  // as a resume does, on rank 0 only
        }
        sharded.share_loaded_state();
        EXPECT_EQ(sharded.steps_taken(), 2);
        for (std::size_t k = 0; k < tensors.size(); ++k) {
            tensors[k].mutable_grad() = grads[2][k].clone();
        }
        sharded.step(1e-2);
        finals[static_cast<std::size_t>(world.rank())] = tensors;
    });
    for (const auto& tensors : finals) {
        for (std::size_t k = 0; k < tensors.size(); ++k) {
            EXPECT_TRUE(torch::equal(tensors[k], reference_parameters[k].param))
                << reference_parameters[k].name;
        }
    }
}

}  // namespace
}  // namespace lowbit::train
