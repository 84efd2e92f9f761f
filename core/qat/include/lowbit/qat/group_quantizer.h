// The weight quantizer of EfficientQAT (docs/efficientqat.md §Quantizer): asymmetric, per group of
// group_size consecutive input features of a (out, in) weight, on the full unsigned grid [0,
// 2^bits − 1], with a learnable step s and zero point z per group, both (out, in/G) fp32 and
// initialised from the group's min and max. Forward: q = clamp(round_STE(W/s') + z', 0, qmax),
// Ŵ = (q − z')·s', with s' = clamp_STE(s, 1e-4, 1e4) and z' = clamp_STE(round_STE(z), 0, qmax).
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace lowbit::qat {

// Bits per code (2, 3, 4 or 8) and the group size G (divides the layer's input width).
struct GroupQuantSpec {
    int bits = 4;
    int64_t group_size = 128;

    int qmax() const {
        return (1 << bits) - 1;
    }
};

// The step's clamp range: a step outside it would make W/s overflow or vanish.
inline constexpr double kMinStep = 1e-4;
inline constexpr double kMaxStep = 1e4;

// Throws std::invalid_argument naming `what` when spec cannot quantize a (out, in) weight: bits
// not 2/3/4/8, group_size < 1 or not dividing in.
void check_group_quant_spec(const GroupQuantSpec& spec, int64_t in, const std::string& what);

// Min-max step and zero point (each (rows, n) fp32) of groups (rows, n, G) read as fp32:
// s = clamp((max − min)/qmax, 1e-4, 1e4), z = round(−clamp(min/s, −1e4, 1e4)). z may fall outside
// [0, qmax] (an all-positive group); the quantizer clamps it when used.
struct MinMaxParams {
    torch::Tensor step;
    torch::Tensor zero_point;
};

MinMaxParams min_max_params(const torch::Tensor& groups, const GroupQuantSpec& spec);

class GroupQuantizer {
public:
    // Min-max initialisation from weight (out, in) (any dtype, read as fp32):
    // s = clamp((max − min)/qmax, 1e-4, 1e4), z = round(−clamp(min/s, −1e4, 1e4)), so one pass
    // of the quantizer at these values is round-to-nearest (RTN). s and z are leaves that do not
    // require grad until set_trainable.
    GroupQuantizer(const torch::Tensor& weight, GroupQuantSpec spec);

    // A quantizer with given s and z (out, in/G) fp32: a finished or loaded one.
    GroupQuantizer(torch::Tensor step, torch::Tensor zero_point, GroupQuantSpec spec);

    // Ŵ (out, in) fp32 with the straight-through gradients of docs/efficientqat.md §Gradients:
    // differentiable in weight, s and z.
    torch::Tensor fake_quantize(const torch::Tensor& weight) const;

    // The integer codes q (out, in) uint8 of weight, without grad.
    torch::Tensor codes(const torch::Tensor& weight) const;

    // The effective step s' (out, in/G) fp32 and zero point z' (out, in/G) uint8, without grad.
    torch::Tensor effective_step() const;
    torch::Tensor effective_zero_point() const;

    // Rounds s to the nearest fp16 value (after the clamp) and z to its integer in [0, qmax]:
    // what the packed file stores, so the fake-quantized weight after this equals the packed
    // weight's dequantization bit for bit.
    void finalize();

    void set_trainable(bool step, bool zero_point);

    torch::Tensor& step() {
        return step_;
    }

    torch::Tensor& zero_point() {
        return zero_point_;
    }

    const torch::Tensor& step() const {
        return step_;
    }

    const torch::Tensor& zero_point() const {
        return zero_point_;
    }

    const GroupQuantSpec& spec() const {
        return spec_;
    }

private:
    GroupQuantSpec spec_;
    torch::Tensor step_;        // s (out, in/G) fp32
    torch::Tensor zero_point_;  // z (out, in/G) fp32 holding integers at initialisation
};

}  // namespace lowbit::qat
