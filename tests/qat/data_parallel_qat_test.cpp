// The data-parallel parts of qat (docs/efficientqat.md §Data-parallel runs), on two ranks that are
// two threads of this process: how the calibration batches are cut (hand-worked parts, and every
// row computed exactly once), GPTQ's Hessian summed over the ranks against one accumulator of all
// rows, Block-AP on two ranks against one process, and E2E-QP on two ranks against one process
// bit for bit where the arithmetic allows it.
#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/calibration_share.h"
#include "lowbit/qat/e2e_qp.h"
#include "lowbit/qat/gptq.h"
#include "lowbit/qat/packed_linear.h"

#include <gtest/gtest.h>

#include <array>
#include <mutex>
#include <random>

#include "../dist/dist_test_util.h"
#include "tiny_model.h"

namespace lowbit::qat {
namespace {

struct Part {
    int64_t batch_rows, first, count, local_first;
};

void expect_parts(const CalibrationShare& share, const std::vector<Part>& expected) {
    ASSERT_EQ(share.train.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        EXPECT_EQ(share.train[k].batch_rows, expected[k].batch_rows) << k;
        EXPECT_EQ(share.train[k].first, expected[k].first) << k;
        EXPECT_EQ(share.train[k].count, expected[k].count) << k;
        EXPECT_EQ(share.train[k].local_first, expected[k].local_first) << k;
    }
}

TEST(CalibrationShareTest, EachBatchIsCutIntoContiguousPartsOnePerRank) {
    // 10 windows in batches of 4: batches of 4, 4 and 2 rows.
    const CalibrationShare whole = calibration_share(10, 4, 5, nullptr);
    expect_parts(whole, {{4, 0, 4, 0}, {4, 4, 4, 4}, {2, 8, 2, 8}});
    EXPECT_EQ(whole.val.first, 0);
    EXPECT_EQ(whole.val.count, 5);
    // Two ranks: rows ⌊n·r/2⌋ … ⌊n·(r+1)/2⌋ − 1 of each batch of n; 5 validation windows as 2 + 3.
    dist::run_two_ranks([](dist::World& world) {
        const CalibrationShare share = calibration_share(10, 4, 5, &world);
        if (world.rank() == 0) {
            expect_parts(share, {{4, 0, 2, 0}, {4, 4, 2, 2}, {2, 8, 1, 4}});
            EXPECT_EQ(share.val.first, 0);
            EXPECT_EQ(share.val.count, 2);
            EXPECT_TRUE(torch::equal(share.train_rows(), torch::tensor({0, 1, 4, 5, 8})));
        } else {
            expect_parts(share, {{4, 2, 2, 0}, {4, 6, 2, 2}, {2, 9, 1, 4}});
            EXPECT_EQ(share.val.first, 2);
            EXPECT_EQ(share.val.count, 3);
            EXPECT_TRUE(torch::equal(share.train_rows(), torch::tensor({2, 3, 6, 7, 9})));
        }
    });
    // Three ranks of a batch of 4: 1, 1 and 2 rows; of a batch of 2: 0, 1 and 1.
    EXPECT_EQ(row_part(4, 0, 3).count, 1);
    EXPECT_EQ(row_part(4, 1, 3).count, 1);
    EXPECT_EQ(row_part(4, 2, 3).count, 2);
    EXPECT_EQ(row_part(2, 0, 3).count, 0);
}

TEST(CalibrationShareTest, TheRanksTogetherComputeEveryRowOnce) {
    std::mt19937 random(7);
    for (int trial = 0; trial < 200; ++trial) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 300)(random);
        const int ranks = std::uniform_int_distribution<int>(1, 9)(random);
        std::vector<int> seen(static_cast<std::size_t>(rows), 0);
        int64_t next = 0;
        for (int r = 0; r < ranks; ++r) {
            const RowRange part = row_part(rows, r, ranks);
            EXPECT_EQ(part.first, next);  // contiguous, in rank order
            next = part.first + part.count;
            for (int64_t i = part.first; i < next; ++i) {
                ++seen[static_cast<std::size_t>(i)];
            }
            // Parts differ by at most one row.
            EXPECT_LE(part.count, rows / ranks + 1);
            EXPECT_GE(part.count, rows / ranks);
        }
        EXPECT_EQ(next, rows);
        EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), rows);
    }
}

TEST(DataParallelQatTest, TheHessianSummedOverTheRanksIsTheHessianOfAllRows) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(4);
    const torch::Tensor x = torch::randn({2, 7, 24}, gen);  // (ranks, rows, in)
    HessianAccumulator all(24);
    all.add(x.reshape({14, 24}));
    std::array<torch::Tensor, 2> summed;
    std::array<int64_t, 2> rows{};
    dist::run_two_ranks([&](dist::World& world) {
        HessianAccumulator mine(24);
        mine.add(x[world.rank()]);
        mine.sum_over(world);
        summed[static_cast<std::size_t>(world.rank())] = mine.hessian();
        rows[static_cast<std::size_t>(world.rank())] = mine.rows();
    });
    for (int r = 0; r < 2; ++r) {
        EXPECT_EQ(rows[static_cast<std::size_t>(r)], 14);
        // float64 sums of the same products in another order.
        EXPECT_TRUE(
            torch::allclose(summed[static_cast<std::size_t>(r)], all.hessian(), 1e-12, 1e-12));
    }
    EXPECT_TRUE(torch::equal(summed[0], summed[1]));  // the allreduce's result is every rank's
}

torch::Tensor token_windows(int64_t n, int64_t length, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randint(0, test::kTinyVocab, {n, length}, gen);
}

BlockApOptions block_options(int64_t batch) {
    BlockApOptions o;
    o.spec = {.bits = 3, .group_size = 32};
    o.epochs = 2;
    o.batch = batch;
    o.quant_lr = 1e-3;
    o.weight_lr = 1e-4;
    return o;
}

// Block 0 of the tiny GPT-2 trained on `train`/`val` by one process, and by two ranks each on
// its part: the epochs' losses and the finished block's fp16 steps.
struct BlockResult {
    std::vector<BlockApEpoch> epochs;
    std::vector<torch::Tensor> steps;
};

BlockResult block_on(dist::World* world,
                     const torch::Tensor& train,
                     const torch::Tensor& val,
                     int64_t batch) {
    at::set_num_threads(1);  // on this thread: OpenMP's thread count is a per-thread setting
    auto model = test::tiny_model(config::ModelFamily::kGpt2);
    const BlockApOptions options = block_options(batch);
    const CalibrationShare share = calibration_share(train.size(0), batch, val.size(0), world);
    ActivationStreams streams =
        block_zero_inputs(*model,
                          world == nullptr ? train : train.index_select(0, share.train_rows()),
                          val.slice(0, share.val.first, share.val.first + share.val.count),
                          batch);
    BlockResult result;
    train_block(
        *model,
        0,
        streams,
        options,
        [&](const BlockApEpoch& e) { result.epochs.push_back(e); },
        world == nullptr ? nullptr : &share);
    for (const model::Linear& linear : model->block_linears(0)) {
        const auto packed = std::dynamic_pointer_cast<PackedLinear>(linear->weight_only());
        result.steps.push_back(packed->steps().detach().clone());
    }
    return result;
}

void expect_block_matches(const BlockResult& one,
                          const BlockResult& rank,
                          double tolerance,
                          double val_tolerance) {
    ASSERT_EQ(rank.epochs.size(), one.epochs.size());
    for (std::size_t e = 0; e < one.epochs.size(); ++e) {
        EXPECT_NEAR(rank.epochs[e].train_loss,
                    one.epochs[e].train_loss,
                    tolerance * one.epochs[e].train_loss)
            << "epoch " << e;
        EXPECT_NEAR(
            rank.epochs[e].val_loss, one.epochs[e].val_loss, val_tolerance * one.epochs[e].val_loss)
            << "epoch " << e;
    }
    ASSERT_EQ(rank.steps.size(), one.steps.size());
    for (std::size_t i = 0; i < one.steps.size(); ++i) {
        EXPECT_LT((rank.steps[i] - one.steps[i]).norm().item<double>(),
                  tolerance * one.steps[i].norm().item<double>())
            << "layer " << i;
    }
}

// Two ranks compute the same batches' gradient as one process, with the rows' products summed in
// another order (per rank, then across ranks), so the runs differ by float32 rounding: the
// training losses and the trained steps by about 1e-7 relative (1e-4 allowed). The validation MSE
// is the square of the block's tiny quantization error (about 6e-6 here), so one weight landing
// on the neighbouring grid code moves it by a few 1e-4 (1e-2 allowed). Weighting the parts of an
// uneven batch wrongly (1 instead of 2/3 and 4/3) moves the training losses by 4-8% and the
// validation MSE by 4-10%, far outside both.
TEST(DataParallelQatTest, BlockApOnTwoRanksTrainsTheBlockOneProcessTrains) {
    at::set_num_threads(1);
    const torch::Tensor train = token_windows(16, test::kTinyContext, 31);
    const torch::Tensor val = token_windows(5, test::kTinyContext, 32);
    // Batches of 4 split 2 + 2; batches of 3 split 1 + 2 (the parts weighted 2/3 and 4/3), the
    // last batch of 1 row computed by rank 1 alone.
    for (const int64_t batch : {4, 3}) {
        SCOPED_TRACE("batch " + std::to_string(batch));
        const BlockResult one = block_on(nullptr, train, val, batch);
        std::array<BlockResult, 2> ranks;
        dist::run_two_ranks([&](dist::World& world) {
            ranks[static_cast<std::size_t>(world.rank())] = block_on(&world, train, val, batch);
        });
        expect_block_matches(one, ranks[0], 1e-4, 1e-2);
        expect_block_matches(one, ranks[1], 1e-4, 1e-2);
        for (std::size_t i = 0; i < one.steps.size(); ++i) {
            EXPECT_TRUE(torch::equal(ranks[0].steps[i], ranks[1].steps[i]));  // identical replicas
        }
    }
}

// The tiny Llama with every block packed by RTN (Block-AP without an epoch), on this thread's 1
// intra-op thread: the same bits wherever it is built.
std::shared_ptr<model::LanguageModelImpl> rtn_packed_model(const torch::Tensor& windows) {
    at::set_num_threads(1);
    auto model = test::tiny_model(config::ModelFamily::kLlama, 13);
    BlockApOptions rtn = block_options(4);
    rtn.epochs = 0;
    const torch::Tensor ids = windows.slice(1, 0, test::kTinyContext);
    ActivationStreams s = block_zero_inputs(*model, ids, ids.slice(0, 0, 4), 4);
    for (int64_t b = 0; b < model->block_count(); ++b) {
        train_block(*model, b, s, rtn, {});
    }
    return model;
}

// E2E-QP on a model packed by RTN (no training, so both runs start from the same bits). With the
// global batch of 8 as two micro-batches of 4 in one process and one part of 4 per rank, each
// rank computes exactly one process's micro-batch, and the accumulated gradient ½g₁ + ½g₂ equals
// (g₁ + g₂)/2 bit for bit (scaling by powers of two is exact): the trained steps are identical.
// The reported loss travels as float32 across the ranks: within 2^-23 relative.
TEST(DataParallelQatTest, E2eQpOnTwoRanksTakesTheStepsOneProcessTakesBitForBit) {
    at::set_num_threads(1);
    const torch::Tensor windows = token_windows(32, test::kTinyContext + 1, 41);
    E2eQpOptions options;
    options.lr = 1e-2;
    options.global_batch = 8;
    options.micro_batch = 4;
    options.epochs = 2;
    auto run = [&](dist::World* world, std::vector<E2eQpStep>& steps) {
        auto model = rtn_packed_model(windows);
        const E2eQpEnd end = train_steps_end_to_end(
            *model, windows, options, [&](const E2eQpStep& st) { steps.push_back(st); }, {}, world);
        EXPECT_EQ(end, E2eQpEnd::kFinished);
        std::vector<torch::Tensor> trained;
        for (const auto& layer : packed_layers(*model)) {
            trained.push_back(layer->steps().detach().clone());
        }
        return trained;
    };
    std::vector<E2eQpStep> one_steps;
    const std::vector<torch::Tensor> one = run(nullptr, one_steps);
    std::array<std::vector<E2eQpStep>, 2> rank_steps;
    std::array<std::vector<torch::Tensor>, 2> ranks;
    dist::run_two_ranks([&](dist::World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        ranks[r] = run(&world, rank_steps[r]);
    });
    ASSERT_EQ(one_steps.size(), 8U);
    for (std::size_t r = 0; r < 2; ++r) {
        ASSERT_EQ(ranks[r].size(), one.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
            EXPECT_TRUE(torch::equal(ranks[r][i], one[i])) << "rank " << r << " layer " << i;
        }
        ASSERT_EQ(rank_steps[r].size(), one_steps.size());
        for (std::size_t k = 0; k < one_steps.size(); ++k) {
            EXPECT_NEAR(rank_steps[r][k].loss, one_steps[k].loss, 0x1p-23 * one_steps[k].loss);
            EXPECT_EQ(rank_steps[r][k].grad_norm, one_steps[k].grad_norm);
        }
    }
}

// A stop asked on one rank only stops both before the same step.
TEST(DataParallelQatTest, AStopAskedOnOneRankStopsEveryRankBeforeTheSameStep) {
    at::set_num_threads(1);
    const torch::Tensor windows = token_windows(32, test::kTinyContext + 1, 42);
    E2eQpOptions options;
    options.global_batch = 8;
    options.micro_batch = 4;
    std::array<std::size_t, 2> taken{};
    std::array<E2eQpEnd, 2> ends{};
    dist::run_two_ranks([&](dist::World& world) {
        auto model = rtn_packed_model(windows);
        const auto r = static_cast<std::size_t>(world.rank());
        std::size_t steps = 0;
        // Rank 1 asks to stop once it has taken 2 steps; rank 0 never asks.
        ends[r] = train_steps_end_to_end(
            *model,
            windows,
            options,
            [&](const E2eQpStep&) { ++steps; },
            [&] { return world.rank() == 1 && steps >= 2; },
            &world);
        taken[r] = steps;
    });
    EXPECT_EQ(ends[0], E2eQpEnd::kStopped);
    EXPECT_EQ(ends[1], E2eQpEnd::kStopped);
    // The request rides with step 3's gradients: both ranks take step 3 and stop before step 4.
    EXPECT_EQ(taken[0], 3U);
    EXPECT_EQ(taken[1], 3U);
}

}  // namespace
}  // namespace lowbit::qat
