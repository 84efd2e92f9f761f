// The fused quantized-AdamW step over one parameter (docs/quantized-pretraining.md §Quantized
// AdamW, with the moments stored for real as quantized_adam_state.h describes): dequantize the
// stored m and v, decoupled weight decay, moment update with g, bias-corrected update of p from
// the UNQUANTIZED new m_t and v_t, then requantize m_t and v_t into the stored codes with fresh
// scales. Storing Q(m_t), Q(v_t) gives the same values as the reference code's float32 states
// quantized at the start of the next step. Either moment may instead be kept in float32.
// Implementations: quantized_adam_step_ref (scalar), quantized_adam_step_cpu_parallel (thread
// pool and vector loops, bit-identical) and launch_quantized_adam_step (CUDA, bit-identical).
#pragma once

#include "lowbit/kernels/quantized_adam_state.h"
#include "lowbit/kernels/status.h"

#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

/// @brief The float32 constants of one step, computed once in double on the host (the same values
/// a PyTorch AdamW sees when its Python-float hyperparameters meet float32 tensors).
struct AdamStepScalars {
    float beta1 = 0.9f;
    float one_minus_beta1 = 0.1f;
    float beta2 = 0.999f;
    float one_minus_beta2 = 0.001f;
    float decay_factor = 1.0f;           ///< 1 - lr * weight_decay (1: no decay for this param)
    float step_size = 0.0f;              ///< lr / (1 - beta1^t)
    float bias_correction2_sqrt = 1.0f;  ///< sqrt(1 - beta2^t)
    float eps = 1e-8f;
};

/// @brief Scalars of step t (1-based) from double hyperparameters.
AdamStepScalars adam_step_scalars(
    double lr, double beta1, double beta2, double eps, double weight_decay, std::int64_t step);

/// @brief One stored moment: quantized (format non-null, buffers used) or float32 (values used).
struct AdamMoment {
    const StateQuantFormat* format = nullptr;  ///< null: float32 in `values`
    QuantizedStateBuffers quantized;
    float* values = nullptr;  ///< (n,) when format is null
    /// Optional (n,) output, quantized moments only: receives exactly the values the step
    /// requantizes into the codes (m_t; v_t, or sqrt(v_t) with kSqrt), so telemetry sees the
    /// tensor the optimizer quantized without recomputing the update. Null: not written. A float32
    /// moment needs no such output: `values` holds m_t (v_t) after the step.
    float* unquantized_out = nullptr;
};

/// @brief One parameter's step. Element-wise, in float32 with every operation rounded separately
/// (no fused multiply-add), in this order:
///   p <- p * decay_factor
///   m <- beta1 * m + one_minus_beta1 * g
///   v <- beta2 * v + one_minus_beta2 * (g * g)
///   p <- p - step_size * (m / (sqrt(v) / bias_correction2_sqrt + eps))
/// then m, v (or sqrt(v) for kSqrt) are requantized per group. param, grad: (rows, cols).
struct QuantizedAdamArgs {
    float* param = nullptr;
    const float* grad = nullptr;
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    AdamMoment m;
    AdamMoment v;
    SecondMomentMapping v_mapping = SecondMomentMapping::kLinear;
    AdamStepScalars scalars;
};

/// @brief kOk or why the arguments are rejected (formats, shapes, null buffers).
Status quantized_adam_check_args(const QuantizedAdamArgs& args);

/// @brief Scalar reference on host buffers: dequantize both moments fully, update, requantize
/// group by group with the literal formulas of docs/quantized-pretraining.md §Symmetric and
/// asymmetric scales.
Status quantized_adam_step_ref(const QuantizedAdamArgs& args);

/// @brief Multi-threaded CPU version; every output bit-identical to the reference for any
/// num_threads (0: the backend's, parallel.h). No float32 copy of the states: groups up to a tile
/// are updated and requantized in one pass from a per-task tile; larger groups (per-tensor,
/// long rows) take two passes, the first recomputing m_t, v_t only to reduce the new scales.
Status quantized_adam_step_cpu_parallel(const QuantizedAdamArgs& args, int num_threads = 0);

#if LOWBIT_HAVE_CUDA
/// @brief CUDA version on device buffers (two passes as above); bit-identical to the reference.
/// Asynchronous with respect to the host.
Status launch_quantized_adam_step(const QuantizedAdamArgs& args, cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
