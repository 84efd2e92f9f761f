// AdamW (see adamw.h). The update follows PyTorch's single-tensor AdamW:
//   p <- p * (1 - lr * wd)                       (matrices only)
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#include "lowbit/train/adamw.h"

#include "lowbit/util/exit_codes.h"

#include <cmath>
#include <map>

namespace lowbit::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> parameters, AdamWOptions options)
    : options_(options) {
    for (auto& [name, param] : parameters) {
        Slot slot;
        slot.name = name;
        slot.param = param;
        slot.exp_avg = torch::zeros_like(param, torch::kFloat32);
        slot.exp_avg_sq = torch::zeros_like(param, torch::kFloat32);
        slot.decay = param.dim() >= 2;
        slots_.push_back(std::move(slot));
    }
}

AdamWStepConstants adamw_step_constants(const AdamWOptions& options, double lr, int64_t t) {
    const double steps = static_cast<double>(t);
    return {lr / (1.0 - std::pow(options.beta1, steps)),
            std::sqrt(1.0 - std::pow(options.beta2, steps))};
}

void adamw_update(torch::Tensor& param,
                  const torch::Tensor& grad,
                  torch::Tensor& exp_avg,
                  torch::Tensor& exp_avg_sq,
                  bool decay,
                  double lr,
                  const AdamWOptions& options,
                  const AdamWStepConstants& constants) {
    if (decay && options.weight_decay != 0.0) {
        param.mul_(1.0 - lr * options.weight_decay);
    }
    exp_avg.lerp_(grad, 1.0 - options.beta1);
    exp_avg_sq.mul_(options.beta2).addcmul_(grad, grad, 1.0 - options.beta2);
    const torch::Tensor denom =
        (exp_avg_sq.sqrt() / constants.bias_correction2_sqrt).add_(options.eps);
    param.addcdiv_(exp_avg, denom, -constants.step_size);
}

void AdamW::step(double lr) {
    torch::NoGradGuard no_grad;
    ++steps_taken_;
    const AdamWStepConstants constants = adamw_step_constants(options_, lr, steps_taken_);
    for (auto& slot : slots_) {
        const torch::Tensor& grad = slot.param.grad();
        if (grad.defined()) {
            adamw_update(slot.param,
                         grad,
                         slot.exp_avg,
                         slot.exp_avg_sq,
                         slot.decay,
                         lr,
                         options_,
                         constants);
            if (MomentObserver* observer = moment_observer()) {
                UpdatedMoments moments;
                moments.param_name = slot.name;
                moments.m = slot.exp_avg;
                moments.v = slot.exp_avg_sq;
                observer->on_moments(moments);
            }
        }
    }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.reserve(2 * slots_.size() + 1);
    for (const auto& slot : slots_) {
        out.emplace_back(slot.name + ".exp_avg", slot.exp_avg);
        out.emplace_back(slot.name + ".exp_avg_sq", slot.exp_avg_sq);
    }
    out.emplace_back("step", torch::tensor({steps_taken_}, torch::kInt64));
    return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
    std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
    auto take = [&](const std::string& name, const torch::Tensor& like) {
        auto it = by_name.find(name);
        if (it == by_name.end()) {
            throw util::BadInput("optimizer state is missing tensor '" + name + "'");
        }
        if (it->second.sizes() != like.sizes()) {
            throw util::BadInput("optimizer state tensor '" + name + "' has shape " +
                                 c10::str(it->second.sizes()) + ", expected " +
                                 c10::str(like.sizes()));
        }
        return it->second.to(like.device(), torch::kFloat32).contiguous();
    };
    torch::NoGradGuard no_grad;
    for (auto& slot : slots_) {
        slot.exp_avg.copy_(take(slot.name + ".exp_avg", slot.exp_avg));
        slot.exp_avg_sq.copy_(take(slot.name + ".exp_avg_sq", slot.exp_avg_sq));
    }
    auto step_it = by_name.find("step");
    if (step_it == by_name.end() || step_it->second.numel() != 1) {
        throw util::BadInput("optimizer state is missing its 'step' counter");
    }
    steps_taken_ = step_it->second.to(torch::kCPU, torch::kInt64).item<int64_t>();
}

int64_t AdamW::state_bytes() const {
    int64_t bytes = 0;
    for (const auto& slot : slots_) {
        bytes += slot.exp_avg.nbytes() + slot.exp_avg_sq.nbytes();
    }
    return static_cast<int64_t>(bytes);
}

}  // namespace lowbit::train
