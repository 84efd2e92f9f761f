// global_norm / clip_gradients: the operations of LibTorch's clip_grad_norm_ (per-tensor norm,
// stack, norm; clamp(max_norm / (norm + 1e-6), max 1)), minus its item().
#include "lowbit/train/gradient_norm.h"

namespace lowbit::train {
namespace {

std::vector<torch::Tensor> defined_tensors(const std::vector<torch::Tensor>& tensors,
                                           bool of_grads) {
    std::vector<torch::Tensor> out;
    out.reserve(tensors.size());
    for (const torch::Tensor& t : tensors) {
        const torch::Tensor& x = of_grads ? t.grad() : t;
        if (x.defined()) {
            out.push_back(x.detach());
        }
    }
    return out;
}

torch::Tensor norm_of(const std::vector<torch::Tensor>& xs) {
    std::vector<torch::Tensor> norms;  // (count,) 0-dim norms
    norms.reserve(xs.size());
    for (const torch::Tensor& x : xs) {
        norms.push_back(x.norm(2));
    }
    return norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
}

}  // namespace

torch::Tensor global_norm(const std::vector<torch::Tensor>& tensors, bool of_grads) {
    const torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> xs = defined_tensors(tensors, of_grads);
    if (xs.empty()) {
        return torch::zeros({});
    }
    return norm_of(xs);
}

torch::Tensor clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm) {
    const torch::NoGradGuard no_grad;
    const std::vector<torch::Tensor> grads = defined_tensors(parameters, true);
    if (grads.empty()) {
        return torch::zeros({});
    }
    const torch::Tensor total = norm_of(grads);
    const torch::Tensor coef = torch::clamp(max_norm / (total + 1e-6), std::nullopt, 1.0);
    for (const torch::Tensor& g : grads) {
        g.mul_(coef);  // g shares the gradient's storage (detach)
    }
    return total;
}

}  // namespace lowbit::train
