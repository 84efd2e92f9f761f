// Data-parallel gradient averaging (docs/distributed.md §Gradients): after every rank's backward
// over its share of the global batch, each gradient becomes the mean over the ranks, so every
// rank applies the same update to the same weights.
#pragma once

#include "lowbit/dist/world.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lowbit::dist {

/// Buckets of at most this many bytes are flattened and reduced in one allreduce.
inline constexpr int64_t kGradientBucketBytes = int64_t{25} << 20;

/// The parameters' gradients (a missing one created as zeros) packed in order into buckets of
/// one dtype and device and at most `bucket_bytes` (one gradient larger than that is a bucket of
/// its own): the units one collective reduces.
std::vector<std::vector<torch::Tensor>> gradient_buckets(
    const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes);

/// In place: `riders` (1-D float32; nothing when undefined or empty) becomes its sum over the
/// ranks, in an allreduce of its own (for when no float32 gradient bucket can carry it).
void sum_riders_alone(World& world, torch::Tensor& riders);

/// Replaces every parameter's gradient by its mean over the ranks (a missing gradient counts as
/// zeros and is created). Parameters are packed in order into buckets of one dtype and device of
/// at most `bucket_bytes` (one parameter larger than that is a bucket of its own), one allreduce
/// per bucket. `riders`, a small 1-D float32 tensor of per-rank values (the step's loss and stop
/// flag), travels in the last bucket when that is float32 and becomes its sum over the ranks, so
/// a step pays no extra round trip for it. A World of one process changes nothing.
void average_gradients(World& world,
                       const std::vector<torch::Tensor>& parameters,
                       torch::Tensor& riders,
                       int64_t bucket_bytes = kGradientBucketBytes);

}  // namespace lowbit::dist
