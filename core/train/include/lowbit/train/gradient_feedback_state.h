// The error-feedback memory of a data-parallel run in its checkpoints (docs/distributed.md
// §Compressed gradients): every rank holds its own, rank 0 writes all of them into
// gradient_feedback.safetensors as "rank<r>.<name>", and a resumed job of the same world size
// hands each rank its own back, so the resumed run continues bit for bit.
#pragma once

#include "lowbit/dist/gradient_exchange.h"
#include "lowbit/dist/world.h"
#include "lowbit/train/checkpoint.h"

namespace lowbit::train {

/// Collective. Rank 0: every rank's memory, named "rank<r>.<name of GradientExchange::residuals>".
/// Other ranks, a single process, or an exchange without feedback: empty.
NamedTensors gather_gradient_feedback(dist::World& world, const dist::GradientExchange& exchange);

/// Collective. Hands each rank its memory from `saved` (rank 0's checkpoint entries; the other
/// ranks pass theirs, which are ignored). When `saved` was written by a job of another world
/// size, or holds none, every rank starts from zero. A malformed entry: util::BadInput on rank 0,
/// DistributedError on the others.
void restore_gradient_feedback(dist::World& world,
                               dist::GradientExchange& exchange,
                               const NamedTensors& saved);

}  // namespace lowbit::train
