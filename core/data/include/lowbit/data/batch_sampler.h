// BatchSampler: draws training windows from a token shard as a pure function of
// (seed, step, micro_step), so a resumed run sees exactly the batches an uninterrupted run would,
// with no cursor to carry beyond the step number. Evaluation windows come from a fixed,
// seed-independent sequence so every evaluation of a run uses the same batches.
#pragma once

#include "lowbit/data/token_shard.h"

#include <cstdint>

namespace lowbit::data {

class BatchSampler {
public:
    // The shard must outlive the sampler. Throws DataError when shard.size() <= context.
    BatchSampler(const TokenShard& shard, int context, uint64_t seed);

    // Fills inputs and targets, each (batch, context) row-major int64: targets are inputs
    // shifted by one token.
    void sample_train(
        int64_t step, int micro_step, int batch, int64_t* inputs, int64_t* targets) const;
    void sample_eval(int64_t batch_index, int batch, int64_t* inputs, int64_t* targets) const;

private:
    const TokenShard* shard_;
    int context_;
    uint64_t seed_;
};

}  // namespace lowbit::data
