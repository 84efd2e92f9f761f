// GradientExchange on two ranks (threads over loopback) against the exact mean of their
// gradients: fp32 exact; bf16 and int8 within the bounds their roundings allow (two encodings:
// each rank's share, then the owner's mean), bit-identical on both ranks; the riders summed
// exactly in every mode; the bytes sent as counted from the message sizes; and error feedback
// keeping the sum of many steps' exchanged gradients within one step's error of the true sum,
// where without it the error grows with the steps; and error-feedback memory handed to a fresh
// exchange (as a resumed run does) continuing the original bit for bit.
#include "lowbit/dist/gradient_exchange.h"

#include "lowbit/util/exit_codes.h"

#include <gtest/gtest.h>

#include "dist_test_util.h"

namespace lowbit::dist {
namespace {

using config::GradientAllreduce;

// Rank r's gradients: three parameters of 700, 300 and 10 values (1010 in all) at magnitudes
// 1e-3, 1 and 1e2, a different random draw per rank (fixed seeds).
std::vector<torch::Tensor> rank_gradients(int rank) {
    torch::manual_seed(100 + rank);
    return {torch::randn({700}) * 1e-3, torch::randn({30, 10}), torch::randn({10}) * 1e2};
}

std::vector<torch::Tensor> parameters_with(const std::vector<torch::Tensor>& grads) {
    std::vector<torch::Tensor> parameters;
    for (const torch::Tensor& g : grads) {
        torch::Tensor p = torch::zeros_like(g);
        p.mutable_grad() = g.clone();
        parameters.push_back(p);
    }
    return parameters;
}

struct Exchanged {
    std::vector<std::vector<torch::Tensor>> grads{2};  // per rank, per parameter
    std::vector<torch::Tensor> riders{2};
    std::vector<int64_t> bytes_sent{0, 0};
};

// `steps` exchanges of the same gradients; grads holds the sum of what each step produced.
Exchanged exchange(GradientAllreduce encoding, bool error_feedback, int steps = 1) {
    Exchanged out;
    // Drawn here: the default generator is shared by the two rank threads.
    const std::vector<std::vector<torch::Tensor>> drawn = {rank_gradients(0), rank_gradients(1)};
    run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        config::DistributedSpec spec;
        spec.gradient_allreduce = encoding;
        spec.error_feedback = error_feedback;
        GradientExchange gradient_exchange(spec);
        const std::vector<torch::Tensor>& grads = drawn[r];
        std::vector<torch::Tensor> sums;
        for (const torch::Tensor& g : grads) {
            sums.push_back(torch::zeros_like(g));
        }
        for (int step = 0; step < steps; ++step) {
            std::vector<torch::Tensor> parameters = parameters_with(grads);
            // rank 0: [1.5, 0], rank 1: [2.25, 1]: loss and stop flag.
            torch::Tensor riders =
                world.rank() == 0 ? torch::tensor({1.5f, 0.0f}) : torch::tensor({2.25f, 1.0f});
            gradient_exchange.average(world, parameters, riders);
            for (std::size_t k = 0; k < grads.size(); ++k) {
                sums[k] += parameters[k].grad();
            }
            out.riders[r] = riders;
        }
        out.grads[r] = sums;
        out.bytes_sent[r] = gradient_exchange.bytes_sent();
    });
    return out;
}

torch::Tensor flat(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> views;
    for (const torch::Tensor& t : tensors) {
        views.push_back(t.reshape({-1}));
    }
    return torch::cat(views);
}

// The exact mean, in float64: (1010,).
torch::Tensor true_mean() {
    return (flat(rank_gradients(0)).to(torch::kFloat64) +
            flat(rank_gradients(1)).to(torch::kFloat64)) /
           2;
}

void expect_identical_on_both_ranks_with_exact_riders(const Exchanged& out) {
    EXPECT_TRUE(torch::equal(flat(out.grads[0]), flat(out.grads[1])));
    for (const torch::Tensor& riders : out.riders) {
        EXPECT_TRUE(torch::equal(riders, torch::tensor({3.75f, 1.0f})));
    }
}

// The int8 bound per value of one exchange. Rank r's values are coded against its block's
// scale s_r = max|x| / 127 (half a step of error each), the mean of the two decoded values
// against its block's scale (at most (max|mean| + the first error) / 127, again half a step).
// Blocks are the 512-value runs of the bucket padded to 1024 (1010 values + 14 zeros).
torch::Tensor int8_bound() {
    auto block_scale = [](const torch::Tensor& values) {  // (1010,) -> per value
        const torch::Tensor padded =
            torch::cat({values.abs(), torch::zeros({14}, values.options())}).view({2, 512});
        const torch::Tensor per_block = padded.amax(1, true).expand({2, 512}) / 127;
        return per_block.reshape({-1}).narrow(0, 0, 1010);
    };
    const torch::Tensor first = (block_scale(flat(rank_gradients(0)).to(torch::kFloat64)) +
                                 block_scale(flat(rank_gradients(1)).to(torch::kFloat64))) /
                                4;
    const torch::Tensor second = (block_scale(true_mean()) + first.amax() / 127) / 2;
    return (first + second) * (1 + 1e-4);  // float32 roundings of the divisions and products
}

TEST(GradientExchange, Fp32IsTheExactMean) {
    const Exchanged out = exchange(GradientAllreduce::kFp32, false);
    expect_identical_on_both_ranks_with_exact_riders(out);
    EXPECT_TRUE(torch::allclose(flat(out.grads[0]).to(torch::kFloat64), true_mean(), 1e-6, 0));
    // Ring allreduce of (1010 + 2) float32: each rank sends 2·(2-1)/2 of the buffer.
    EXPECT_EQ(out.bytes_sent[0], 1012 * 4);
}

TEST(GradientExchange, Bf16IsTheMeanWithinTwoBf16Roundings) {
    const Exchanged out = exchange(GradientAllreduce::kBf16, false);
    expect_identical_on_both_ranks_with_exact_riders(out);
    const torch::Tensor got = flat(out.grads[0]).to(torch::kFloat64);
    const torch::Tensor mean = true_mean();
    // bf16 keeps 8 significant bits, so rounding to nearest errs by at most 2^-8 of the value:
    // each share is rounded (2^-8 of (|a| + |b|) / 2 after averaging), then their mean m' (at
    // most 2^-8 of |m| + the first error). The float32 sums and division add about 2^-24.
    const torch::Tensor shares =
        (flat(rank_gradients(0)).abs() + flat(rank_gradients(1)).abs()).to(torch::kFloat64) / 2;
    const double u = std::ldexp(1.0, -8);
    const torch::Tensor bound = u * shares + u * (mean.abs() + u * shares);
    EXPECT_TRUE((got - mean).abs().le(bound * (1 + 1e-4)).all().item<bool>());
    EXPECT_FALSE(torch::equal(got, mean));  // it is an encoding: something was rounded
    // All-to-all: the other rank's half of the padded bucket (505 values) in bf16 and the two
    // riders; allgather: this rank's mean (505 values) in bf16.
    EXPECT_EQ(out.bytes_sent[0], (505 * 2 + 2 * 4) + 505 * 2);
}

TEST(GradientExchange, Int8IsTheMeanWithinTwoBlockRoundings) {
    const Exchanged out = exchange(GradientAllreduce::kInt8, false);
    expect_identical_on_both_ranks_with_exact_riders(out);
    const torch::Tensor error = (flat(out.grads[0]).to(torch::kFloat64) - true_mean()).abs();
    EXPECT_TRUE(error.le(int8_bound()).all().item<bool>()) << (error - int8_bound()).max();
    // 1010 values padded to 1024: a 512-value part per rank, 512 codes and one scale.
    EXPECT_EQ(out.bytes_sent[0], (512 + 4 + 2 * 4) + (512 + 4));
}

TEST(GradientExchange, ErrorFeedbackKeepsTheSumOfManyStepsWithinOneStepsError) {
    constexpr int kSteps = 40;
    const torch::Tensor target = true_mean() * kSteps;
    const Exchanged with = exchange(GradientAllreduce::kInt8, true, kSteps);
    const Exchanged without = exchange(GradientAllreduce::kInt8, false, kSteps);
    expect_identical_on_both_ranks_with_exact_riders(with);
    // With feedback the errors telescope: the sum over steps misses the true sum only by what
    // the last step still holds back (one step's bound for each of the two encodings, plus
    // float32 accumulation over 40 steps).
    const torch::Tensor with_error = (flat(with.grads[0]).to(torch::kFloat64) - target).abs();
    const torch::Tensor bound = 2 * int8_bound() + 1e-5 * target.abs();
    EXPECT_TRUE(with_error.le(bound).all().item<bool>()) << (with_error - bound).max();
    // Without it the same rounding repeats every step: the error grows 40-fold.
    const torch::Tensor without_error = (flat(without.grads[0]).to(torch::kFloat64) - target).abs();
    EXPECT_GT(without_error.sum().item<double>(), 10 * with_error.sum().item<double>());
}

TEST(GradientExchange, MemoryRestoredIntoAFreshExchangeContinuesTheOriginalBitForBit) {
    const std::vector<std::vector<torch::Tensor>> drawn = {rank_gradients(0), rank_gradients(1)};
    // Per rank: the third step's gradients from the original, from a fresh exchange given the
    // original's memory after two steps, from one given none, and from one given memory of the
    // wrong sizes.
    std::vector<torch::Tensor> original(2), restored(2), fresh(2), misfit(2);
    run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        config::DistributedSpec spec;
        spec.gradient_allreduce = GradientAllreduce::kInt8;
        spec.error_feedback = true;
        auto step = [&](GradientExchange& exchange) {
            std::vector<torch::Tensor> parameters = parameters_with(drawn[r]);
            torch::Tensor riders = torch::tensor({1.0f, 0.0f});
            exchange.average(world, parameters, riders);
            return flat({parameters[0].grad(), parameters[1].grad(), parameters[2].grad()});
        };
        GradientExchange first(spec);
        EXPECT_TRUE(first.keeps_residuals());
        EXPECT_TRUE(first.residuals().empty());
        step(first);
        step(first);
        const auto saved = first.residuals();
        // One bucket (1010 values, padded to 1024 and cut in two parts of 512).
        ASSERT_EQ(saved.size(), 2u);
        EXPECT_EQ(saved[0].first, "sent.0");
        EXPECT_EQ(saved[0].second.numel(), 1010);
        EXPECT_EQ(saved[1].first, "owned.0");
        EXPECT_EQ(saved[1].second.numel(), 512);
        original[r] = step(first);

        GradientExchange second(spec);
        std::vector<std::pair<std::string, torch::Tensor>> copied;
        for (const auto& [name, t] : saved) {
            copied.emplace_back(name, t.clone());
        }
        second.restore_residuals(copied);
        restored[r] = step(second);

        GradientExchange third(spec);
        fresh[r] = step(third);

        GradientExchange fourth(spec);
        fourth.restore_residuals({{"sent.0", torch::ones({7})}, {"owned.0", torch::ones({3})}});
        misfit[r] = step(fourth);
    });
    for (std::size_t r = 0; r < 2; ++r) {
        EXPECT_TRUE(torch::equal(restored[r], original[r]));
        // The memory matters: without it the third step differs.
        EXPECT_FALSE(torch::equal(fresh[r], original[r]));
        EXPECT_TRUE(torch::equal(misfit[r], fresh[r]));
    }
}

TEST(GradientExchange, MemoryWithNamesItDoesNotGiveIsRefused) {
    config::DistributedSpec spec;
    spec.gradient_allreduce = GradientAllreduce::kInt8;
    spec.error_feedback = true;
    GradientExchange exchange(spec);
    for (const char* name : {"sent", "sent.", "sent.x", "kept.0", "owned.1a"}) {
        EXPECT_THROW(exchange.restore_residuals({{name, torch::zeros({4})}}), util::BadInput)
            << name;
    }
    EXPECT_THROW(exchange.restore_residuals({{"sent.0", torch::zeros({4}, torch::kFloat64)}}),
                 util::BadInput);
    EXPECT_NO_THROW(exchange.restore_residuals({{"owned.12", torch::zeros({4})}}));
}

TEST(GradientExchange, OneProcessChangesNothing) {
    World world;
    config::DistributedSpec spec;
    spec.gradient_allreduce = GradientAllreduce::kInt8;
    GradientExchange gradient_exchange(spec);
    std::vector<torch::Tensor> parameters = parameters_with(rank_gradients(0));
    torch::Tensor riders = torch::tensor({1.5f, 0.0f});
    gradient_exchange.average(world, parameters, riders);
    EXPECT_TRUE(
        torch::equal(flat({parameters[0].grad(), parameters[1].grad(), parameters[2].grad()}),
                     flat(rank_gradients(0))));
    EXPECT_EQ(gradient_exchange.bytes_sent(), 0);
}

}  // namespace
}  // namespace lowbit::dist
