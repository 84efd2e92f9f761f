// Keeping the replicas of a data-parallel run identical (docs/distributed.md §Replicas): at the
// start every rank takes rank 0's weights, optimizer state and RNG state; during training a
// checksum of the weights, compared across ranks, proves that they stayed identical.
#pragma once

#include "lowbit/dist/world.h"
#include "lowbit/train/run_context.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lowbit::train {

/// Collective: every rank's model parameters, optimizer state and default-generator state become
/// rank 0's. The optimizer layouts must agree (the same recipe builds them); a disagreement in
/// tensor count is reported instead of exchanging mismatched buffers.
void broadcast_training_state(dist::World& world, RunContext& run);

/// Collective: throws dist::DistributedError naming `step` when the ranks' weights differ (the
/// float64 sum and sum of squares of every parameter are compared exactly).
void check_replicas_identical(dist::World& world,
                              const std::vector<torch::Tensor>& parameters,
                              int64_t step);

}  // namespace lowbit::train
