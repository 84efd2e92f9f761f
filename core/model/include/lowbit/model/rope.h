// Rotary position embedding in the non-interleaved "rotate_half" convention of HF Llama:
// the head dimension is split into halves (x1, x2) and rotated as (x1·cos − x2·sin, x2·cos +
// x1·sin) with frequency i shared by lanes i and i + head_dim/2.
#pragma once

#include <torch/torch.h>

#include <utility>

namespace lowbit::model {

// cos, sin tables for positions 0..T-1, each (T, head_dim) fp32 on `device`:
// angle[t, i] = t · theta^(−2(i mod head_dim/2)/head_dim).
std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t seq_len,
                                                    int64_t head_dim,
                                                    double theta,
                                                    const torch::Device& device);

// x (B, H, T, head_dim) rotated by the tables (T, head_dim); returns x's dtype.
torch::Tensor apply_rope(const torch::Tensor& x,
                         const torch::Tensor& cos,
                         const torch::Tensor& sin);

}  // namespace lowbit::model
