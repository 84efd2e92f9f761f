// E2E-QP: the end-to-end training of the packed model's steps (docs/efficientqat.md §E2E-QP).
#include "lowbit/qat/e2e_qp.h"

#include <chrono>
#include <cmath>
#include <numbers>

namespace lowbit::qat {

double e2e_qp_learning_rate(double lr, double warmup_ratio, int64_t step, int64_t total) {
    const auto warmup = static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total)));
    if (step < warmup) {
        return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    }
    const int64_t decay = std::max<int64_t>(1, total - warmup);
    const double progress = static_cast<double>(step - warmup) / static_cast<double>(decay);
    return lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

std::vector<std::shared_ptr<PackedLinear>> packed_layers(const model::LanguageModelImpl& model) {
    std::vector<std::shared_ptr<PackedLinear>> layers;
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (const model::Linear& linear : model.block_linears(b)) {
            auto packed = std::dynamic_pointer_cast<PackedLinear>(linear->weight_only());
            TORCH_CHECK(packed != nullptr, "E2E-QP: layer ", linear->path(), " is not packed");
            layers.push_back(packed);
        }
    }
    return layers;
}

void train_steps_end_to_end(model::LanguageModelImpl& model,
                            const torch::Tensor& windows,
                            const E2eQpOptions& options,
                            const std::function<void(const E2eQpStep&)>& on_step,
                            const std::function<bool()>& should_stop) {
    TORCH_CHECK(windows.dim() == 2 && windows.size(1) >= 2,
                "E2E-QP: windows must be (N, T + 1), got ",
                windows.sizes());
    for (auto& param : model.parameters()) {
        param.requires_grad_(false);
    }
    std::vector<torch::Tensor> steps;
    for (const auto& layer : packed_layers(model)) {
        steps.push_back(layer->steps().detach().requires_grad_(true));
        layer->steps() = steps.back();
    }
    torch::optim::AdamW optimizer(
        steps, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
    const int64_t per_epoch = windows.size(0) / options.global_batch;
    const int64_t total = per_epoch * options.epochs;
    model.train();
    int64_t step = 0;
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
        for (int64_t s = 0; s < per_epoch; ++s) {
            if (should_stop && should_stop()) {
                model.eval();
                return;
            }
            const auto started = std::chrono::steady_clock::now();
            const double lr = e2e_qp_learning_rate(options.lr, options.warmup_ratio, step, total);
            static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[0].options()).lr(lr);
            optimizer.zero_grad();
            torch::Tensor loss_sum = torch::zeros({}, torch::kFloat64);
            const int64_t first = s * options.global_batch;
            for (int64_t m = 0; m < options.global_batch; m += options.micro_batch) {
                const torch::Tensor batch = windows.slice(
                    0, first + m, first + std::min(m + options.micro_batch, options.global_batch));
                const torch::Tensor inputs = batch.slice(1, 0, -1);
                const torch::Tensor targets = batch.slice(1, 1);
                const torch::Tensor loss = model::lm_loss(model.forward(inputs), targets);
                // Each micro-batch's mean weighted by its share of the global batch.
                const double share =
                    static_cast<double>(batch.size(0)) / static_cast<double>(options.global_batch);
                (loss * share).backward();
                loss_sum += loss.detach().to(torch::kCPU, torch::kFloat64) * share;
            }
            std::vector<torch::Tensor> grads;
            for (const torch::Tensor& p : steps) {
                if (p.grad().defined()) {
                    grads.push_back(p.grad().flatten());
                }
            }
            const double grad_norm = grads.empty() ? 0.0 : torch::cat(grads).norm().item<double>();
            if (options.grad_clip > 0) {
                torch::nn::utils::clip_grad_norm_(steps, options.grad_clip);
            }
            optimizer.step();
            ++step;
            if (on_step) {
                E2eQpStep record;
                record.step = step;
                record.total_steps = total;
                record.loss = loss_sum.item<double>();
                record.lr = lr;
                record.grad_norm = grad_norm;
                record.seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
                on_step(record);
            }
        }
    }
    model.eval();
}

}  // namespace lowbit::qat
