// Named tensors as one byte tensor, for sending between ranks (LibTorch's pickler): any mix of
// dtypes and shapes (float32 moments, quantized codes and scales, residuals) arrives unchanged.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace lowbit::train {

/// (bytes,) uint8 on the CPU, holding `tensors` (copied to the CPU) in their order.
torch::Tensor pickled(const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

/// The named tensors (CPU) that pickled() turned into `bytes`, in their order.
std::vector<std::pair<std::string, torch::Tensor>> unpickled(const torch::Tensor& bytes);

}  // namespace lowbit::train
