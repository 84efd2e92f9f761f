// AdamW with decoupled weight decay on matrices only (parameters with dim >= 2), written out
// step by step rather than taken from torch::optim so that its state is plain named tensors
// (saved in checkpoints, exactly restorable) and so the quantized-state variant
// (QuantizedAdamW, quantized_adamw.h) can replace the moment storage without touching the update
// rule.
#pragma once

#include "lowbit/train/optimizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::train {

struct AdamWOptions {
    double beta1 = 0.9;
    double beta2 = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.1;
};

// The bias corrections of step t (1-based) as the update uses them.
struct AdamWStepConstants {
    double step_size;              // lr / (1 − β1^t)
    double bias_correction2_sqrt;  // sqrt(1 − β2^t)
};

AdamWStepConstants adamw_step_constants(const AdamWOptions& options, double lr, int64_t t);

// One AdamW update of `param` with float32 moments, in place: decoupled decay (when `decay`),
// m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², p ← p − step_size · m / (sqrt(v)/bc2 + ε).
// Shared by AdamW and QuantizedAdamW's float32 slots so both produce the same bits.
void adamw_update(torch::Tensor& param,
                  const torch::Tensor& grad,
                  torch::Tensor& exp_avg,
                  torch::Tensor& exp_avg_sq,
                  bool decay,
                  double lr,
                  const AdamWOptions& options,
                  const AdamWStepConstants& constants);

class AdamW final : public Optimizer {
public:
    // Parameters with their stable names (the model's named_parameters order).
    AdamW(std::vector<std::pair<std::string, torch::Tensor>> parameters, AdamWOptions options);

    // One update with learning rate lr. Parameters without a gradient are skipped.
    void step(double lr) override;

    int64_t steps_taken() const override {
        return steps_taken_;
    }

    // State as named tensors: "<param>.exp_avg", "<param>.exp_avg_sq", and "step" (int64 scalar).
    OptimizerState state() const override;
    // Strict restore: every expected tensor present with the right shape, else BadInput.
    void load_state(const OptimizerState& state) override;
    int64_t state_bytes() const override;  // bytes held by m and v

private:
    struct Slot {
        std::string name;
        torch::Tensor param;
        torch::Tensor exp_avg;     // m, same shape as param (fp32)
        torch::Tensor exp_avg_sq;  // v, same shape as param (fp32)
        bool decay = false;
    };

    std::vector<Slot> slots_;
    AdamWOptions options_;
    int64_t steps_taken_ = 0;
};

}  // namespace lowbit::train
