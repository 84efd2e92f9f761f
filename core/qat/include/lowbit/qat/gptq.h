// GPTQ on the EfficientQAT grid (docs/efficientqat.md §GPTQ baseline): quantizes a linear
// weight column by column, spreading each column's rounding error over the columns not yet
// quantized through the inverse Hessian of the layer's inputs, with min-max groups of the same
// asymmetric grid as RTN and Block-AP, so the three methods are compared on one format.
#pragma once

#include "lowbit/dist/world.h"
#include "lowbit/qat/group_quantizer.h"

#include <torch/torch.h>

#include <cstdint>

namespace lowbit::qat {

// H = (2/n) Σ xᵀx over the n input rows a layer saw, accumulated in fp64.
class HessianAccumulator {
public:
    explicit HessianAccumulator(int64_t in_features);

    // x (..., in): every row is one input of the layer.
    void add(const torch::Tensor& x);

    // (in, in) fp64. Requires at least one row.
    torch::Tensor hessian() const;

    int64_t rows() const {
        return rows_;
    }

    // Collective: the sums and row counts become those of every rank's rows, identical on every
    // rank (a data-parallel run, docs/efficientqat.md §Data-parallel runs).
    void sum_over(dist::World& world);

private:
    torch::Tensor sum_;  // Σ xᵀx (in, in) fp64
    int64_t rows_ = 0;
};

struct GptqOptions {
    double damp_fraction = 0.01;  // λ = damp_fraction · mean(diag H) added to the diagonal
    bool act_order = false;       // columns in order of decreasing diag(H)
    int64_t block_size = 128;     // columns per lazy batch update
};

struct GptqResult {
    torch::Tensor codes;        // (out, in) uint8
    torch::Tensor zero_points;  // (out, in/G) uint8
    torch::Tensor steps;        // (out, in/G) fp32 holding fp16 values
    torch::Tensor weight;       // Ŵ = (q − z)·s (out, in) fp32
};

// weight (out, in), hessian (in, in). Groups are G consecutive input features (g_idx = i / G)
// in both orders: with act_order their steps and zero points come from the unquantized weight
// before any column is processed (static groups); without, from the weight as every earlier
// column's error update left it, when the group's first column is reached. block_size is rounded
// down to whole groups (at least one). Throws std::invalid_argument on a bad spec and
// c10::Error when the damped Hessian is not positive definite.
GptqResult gptq_quantize(const torch::Tensor& weight,
                         const torch::Tensor& hessian,
                         const GroupQuantSpec& spec,
                         const GptqOptions& options);

}  // namespace lowbit::qat
