// BatchSampler: a pure function of (seed, step, micro_step), targets shifted by one, offsets
// covering the whole valid range, seed-independent evaluation windows, and short shards.
#include "lowbit/data/batch_sampler.h"

#include "lowbit/data/data_error.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "test_util.h"

namespace lowbit::data {
namespace {

using test_util::TempDir;

// A shard whose token at index i is i, so a window's first token is its offset.
TokenShard iota_shard(const TempDir& dir, uint32_t size) {
    std::vector<uint32_t> tokens(size);
    std::iota(tokens.begin(), tokens.end(), 0u);
    ShardMeta meta;
    meta.vocab_size = static_cast<int>(size);
    write_token_shard(dir / "iota.bin", tokens, meta);
    return TokenShard::open(dir / "iota.bin");
}

struct Batch {
    std::vector<int64_t> inputs, targets;
};

Batch train_batch(const BatchSampler& sampler, int64_t step, int micro, int batch, int context) {
    Batch b{std::vector<int64_t>(static_cast<size_t>(batch * context)),
            std::vector<int64_t>(static_cast<size_t>(batch * context))};
    sampler.sample_train(step, micro, batch, b.inputs.data(), b.targets.data());
    return b;
}

TEST(BatchSampler, PureAndShifted) {
    TempDir dir;
    const TokenShard shard = iota_shard(dir, 5000);
    const int context = 16, batch = 8;
    const BatchSampler sampler(shard, context, 1234);
    const Batch a = train_batch(sampler, 7, 1, batch, context);
    // Other calls in between must not matter: no hidden state.
    train_batch(sampler, 3, 0, batch, context);
    const Batch b = train_batch(sampler, 7, 1, batch, context);
    EXPECT_EQ(a.inputs, b.inputs);
    EXPECT_EQ(a.targets, b.targets);
    // A second sampler (a resumed run) sees the same batch.
    const BatchSampler resumed(shard, context, 1234);
    EXPECT_EQ(train_batch(resumed, 7, 1, batch, context).inputs, a.inputs);

    for (int row = 0; row < batch; ++row) {
        for (int t = 0; t < context; ++t) {
            const size_t i = static_cast<size_t>(row * context + t);
            EXPECT_EQ(a.targets[i], a.inputs[i] + 1);  // iota: shifted by one token
            if (t > 0) {
                EXPECT_EQ(a.inputs[i], a.inputs[i - 1] + 1);  // contiguous window
            }
        }
    }
    EXPECT_NE(train_batch(sampler, 7, 2, batch, context).inputs, a.inputs);
    EXPECT_NE(train_batch(sampler, 8, 1, batch, context).inputs, a.inputs);
    const BatchSampler other_seed(shard, context, 1235);
    EXPECT_NE(train_batch(other_seed, 7, 1, batch, context).inputs, a.inputs);
}

TEST(BatchSampler, OffsetsCoverTheRange) {
    TempDir dir;
    const uint32_t size = 40;
    const int context = 8;
    const TokenShard shard = iota_shard(dir, size);
    const BatchSampler sampler(shard, context, 99);
    std::set<int64_t> offsets;
    for (int64_t step = 0; step < 200; ++step) {
        const Batch b = train_batch(sampler, step, 0, 4, context);
        for (int row = 0; row < 4; ++row) {
            const int64_t offset = b.inputs[static_cast<size_t>(row * context)];
            EXPECT_GE(offset, 0);
            EXPECT_LE(offset, size - context - 1);
            offsets.insert(offset);
        }
    }
    // 800 draws over 32 offsets: every one, including both ends, must appear.
    EXPECT_EQ(offsets.size(), static_cast<size_t>(size - context));
}

TEST(BatchSampler, EvalWindowsIgnoreSeed) {
    TempDir dir;
    const TokenShard shard = iota_shard(dir, 3000);
    const int context = 12, batch = 4;
    const BatchSampler a(shard, context, 1), b(shard, context, 2);
    std::vector<int64_t> in_a(batch * context), tg_a(batch * context);
    std::vector<int64_t> in_b(batch * context), tg_b(batch * context);
    a.sample_eval(5, batch, in_a.data(), tg_a.data());
    b.sample_eval(5, batch, in_b.data(), tg_b.data());
    EXPECT_EQ(in_a, in_b);
    EXPECT_EQ(tg_a, tg_b);
    b.sample_eval(6, batch, in_b.data(), tg_b.data());
    EXPECT_NE(in_a, in_b);
}

TEST(BatchSampler, ShortShardIsAnError) {
    TempDir dir;
    const TokenShard shard = iota_shard(dir, 10);
    EXPECT_NO_THROW(BatchSampler(shard, 9, 0));  // exactly one window of 10 tokens
    try {
        BatchSampler sampler(shard, 10, 0);
        FAIL() << "no error";
    } catch (const DataError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("iota.bin"), std::string::npos) << message;
        EXPECT_NE(message.find("10 tokens"), std::string::npos) << message;
        EXPECT_NE(message.find("context 10"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace lowbit::data
