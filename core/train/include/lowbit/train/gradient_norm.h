// The global 2-norm of a model's gradients or weights as one device reduction, and gradient
// clipping that leaves the norm on the device (docs/training.md §Step): the training step reads
// its loss and gradient norm from the device once, together, instead of once per micro-batch and
// once per parameter.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace lowbit::train {

// ‖(‖t₁‖, ‖t₂‖, …)‖₂ over the defined tensors (their gradients when of_grads), each tensor's norm
// in float32 as clip_grad_norm_ takes it; a 0-dim float32 tensor on the tensors' device (0 when
// none is defined).
torch::Tensor global_norm(const std::vector<torch::Tensor>& tensors, bool of_grads);

// torch::nn::utils::clip_grad_norm_(parameters, max_norm) without its host read: scales every
// gradient by min(1, max_norm / (norm + 1e-6)) on the device and returns the norm (as
// global_norm). Bit for bit the same gradients and norm as LibTorch's.
torch::Tensor clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace lowbit::train
