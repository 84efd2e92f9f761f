// The optimizer interface the trainer, checkpoints and benchmarks use: one step at a given
// learning rate, a step counter, the state as named tensors (saved in optimizer.safetensors and
// restored exactly on resume) and the bytes that state holds. Implemented by AdamW (float32
// moments) and QuantizedAdamW (low-bit stored moments). Not thread-safe: one training thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::train {

using OptimizerState = std::vector<std::pair<std::string, torch::Tensor>>;

class Optimizer {
public:
    virtual ~Optimizer() = default;

    /// One update of every parameter that has a gradient, with learning rate lr.
    virtual void step(double lr) = 0;

    /// Completed steps (the t of the bias corrections).
    virtual int64_t steps_taken() const = 0;

    /// The complete state as named tensors (including an int64 "step" scalar).
    virtual OptimizerState state() const = 0;

    /// Strict restore from state(); throws util::BadInput naming the missing or misshapen tensor.
    virtual void load_state(const OptimizerState& state) = 0;

    /// Bytes actually held by the optimizer state (moments, codes, scales).
    virtual int64_t state_bytes() const = 0;
};

}  // namespace lowbit::train
