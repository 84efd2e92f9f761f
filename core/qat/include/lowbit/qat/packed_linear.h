// PackedLinear: a Linear whose weight is a PackedWeight (docs/efficientqat.md §Packed layout).
// Without gradients it runs the kernels' dequantize-on-the-fly product (CPU threads or CUDA) for
// up to kDenseRows input rows, and Ŵ with a dense product for more;
// when its fp32 steps require grad (E2E-QP) it forms Ŵ = (q − z)·s with LibTorch operations so
// that autograd gives grad_s = Σ_group (q − z)·grad_Ŵ, while the codes and zero points stay fixed.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/model/weight_only_linear.h"
#include "lowbit/qat/packed_weight.h"

#include <torch/torch.h>

namespace lowbit::qat {

class PackedLinear : public model::WeightOnlyLinear {
public:
    // From this many input rows on, the forward forms Ŵ and runs a dense product instead.
    static constexpr int64_t kDenseRows = 64;

    explicit PackedLinear(PackedWeight packed);

    torch::Tensor forward(const torch::Tensor& x,
                          const torch::Tensor& weight,
                          const torch::Tensor& bias) override;

    // The steps s as an fp32 (in/G, out) leaf, what E2E-QP trains; initially the stored fp16.
    torch::Tensor& steps() {
        return steps_;
    }

    // The packed weight with its scales set to the current steps rounded to fp16.
    PackedWeight packed() const;

    // Moves the words and steps to `device` (the steps stay a leaf, keeping requires_grad).
    void to(const torch::Device& device);

private:
    torch::Tensor differentiable_forward(const torch::Tensor& x, const torch::Tensor& bias);

    PackedWeight packed_;
    torch::Tensor steps_;           // (in/G, out) fp32
    torch::Tensor centered_codes_;  // (out, in/G, G) fp32 q − z, built on first use
};

// The PackedLinear of every block Linear of `model`, block by block (throws c10::Error naming the
// first layer that is not packed).
std::vector<std::shared_ptr<PackedLinear>> packed_layers(const model::LanguageModelImpl& model);

// Moves the model and the packed words and steps of its packed layers (if any) to `device`.
void move_model(model::LanguageModelImpl& model, const torch::Device& device);

}  // namespace lowbit::qat
