// The optimizer interface the trainer, checkpoints and benchmarks use: one step at a given
// learning rate, a step counter, the state as named tensors (saved in optimizer.safetensors and
// restored exactly on resume) and the bytes that state holds. Implemented by AdamW (float32
// moments) and QuantizedAdamW (low-bit stored moments). Not thread-safe: one training thread.
#pragma once

#include "lowbit/kernels/fake_quant.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::train {

using OptimizerState = std::vector<std::pair<std::string, torch::Tensor>>;

/// The moments one update of one parameter stores, as the update computed them (float32, the
/// parameter's shape and device; valid during the observer call only). A float32 moment is the
/// stored tensor itself; a quantized one is exactly what the optimizer quantizes into its codes
/// (v: sqrt(v_t) under the sqrt mapping), with the fake quantizer that maps it to the stored
/// values on the parameter's (rows, last dim) view, or nullopt when no fake quantizer lays the
/// stored groups (flat blocks that do not divide the row; docs/quantized-pretraining.md §Stored
/// moments).
struct UpdatedMoments {
    std::string_view param_name;
    torch::Tensor m;  // m_t
    torch::Tensor v;  // v_t, or sqrt(v_t) when stored that way
    bool m_quantized = false;
    bool v_quantized = false;
    std::optional<kernels::FakeQuantParams> m_params;
    std::optional<kernels::FakeQuantParams> v_params;
};

/// Receives the moments of every parameter an observed step updates (telemetry).
class MomentObserver {
public:
    virtual ~MomentObserver() = default;
    virtual void on_moments(const UpdatedMoments& moments) = 0;
};

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

    /// Until reset to null, every step hands each updated parameter's new moments to
    /// `observer` (not owned) as it computes them; nothing extra is computed while null.
    void observe_moments(MomentObserver* observer) {
        observer_ = observer;
    }

protected:
    MomentObserver* moment_observer() const {
        return observer_;
    }

private:
    MomentObserver* observer_ = nullptr;
};

}  // namespace lowbit::train
