// BatchSampler: every window offset is a hash of (seed, step, micro_step, row), so batches need
// no generator state and a resumed run replays them exactly.
#include "lowbit/data/batch_sampler.h"

#include "lowbit/data/data_error.h"

#include <stdexcept>

#include "random.h"

namespace lowbit::data {

namespace {

// Domain tags keep training and evaluation hashes apart even for equal counters.
constexpr uint64_t kTrainDomain = 0x747261696e000001ull;
constexpr uint64_t kEvalDomain = 0x6576616c00000002ull;
// Evaluation windows ignore the run seed, so every evaluation of every run sees the same data.
constexpr uint64_t kEvalSeed = 0x0123456789abcdefull;

uint64_t window_hash(uint64_t domain, uint64_t seed, uint64_t a, uint64_t b, uint64_t row) {
    // Chained splitmix64: each counter is folded in after a full mix of the previous state.
    uint64_t h = mix64(domain ^ mix64(seed));
    h = mix64(h ^ a);
    h = mix64(h ^ b);
    return mix64(h ^ row);
}

}  // namespace

BatchSampler::BatchSampler(const TokenShard& shard, int context, uint64_t seed)
    : shard_(&shard), context_(context), seed_(seed) {
    if (context < 1) {
        throw std::invalid_argument("BatchSampler: context must be positive, not " +
                                    std::to_string(context));
    }
    if (shard.size() <= context) {
        throw DataError(shard.path().string() + ": " + std::to_string(shard.size()) +
                        " tokens is too short for one window of context " +
                        std::to_string(context) + " (needs at least " +
                        std::to_string(int64_t{context} + 1) + " tokens)");
    }
}

namespace {

void fill_rows(const TokenShard& shard,
               int context,
               int batch,
               int64_t* inputs,
               int64_t* targets,
               uint64_t domain,
               uint64_t seed,
               uint64_t a,
               uint64_t b) {
    if (batch < 0) {
        throw std::invalid_argument("BatchSampler: batch must not be negative");
    }
    // Offsets 0 .. size - context - 1 leave room for context + 1 tokens. The modulo bias is below
    // range / 2^64, far under anything a training run could notice.
    const auto range = static_cast<uint64_t>(shard.size() - context);
    for (int row = 0; row < batch; ++row) {
        const auto offset = static_cast<int64_t>(
            window_hash(domain, seed, a, b, static_cast<uint64_t>(row)) % range);
        const int64_t at = int64_t{row} * context;
        shard.copy_to(offset, context, inputs + at);
        shard.copy_to(offset + 1, context, targets + at);
    }
}

}  // namespace

void BatchSampler::sample_train(
    int64_t step, int micro_step, int batch, int64_t* inputs, int64_t* targets) const {
    fill_rows(*shard_,
              context_,
              batch,
              inputs,
              targets,
              kTrainDomain,
              seed_,
              static_cast<uint64_t>(step),
              static_cast<uint64_t>(micro_step));
}

void BatchSampler::sample_eval(int64_t batch_index,
                               int batch,
                               int64_t* inputs,
                               int64_t* targets) const {
    fill_rows(*shard_,
              context_,
              batch,
              inputs,
              targets,
              kEvalDomain,
              kEvalSeed,
              static_cast<uint64_t>(batch_index),
              0);
}

}  // namespace lowbit::data
