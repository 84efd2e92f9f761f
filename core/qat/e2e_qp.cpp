// E2E-QP: the end-to-end training of the packed model's steps (docs/efficientqat.md §E2E-QP).
#include "lowbit/qat/e2e_qp.h"

#include "lowbit/dist/gradient_averaging.h"

#include <chrono>
#include <cmath>
#include <limits>
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

E2eQpEnd train_steps_end_to_end(model::LanguageModelImpl& model,
                                const torch::Tensor& windows,
                                const E2eQpOptions& options,
                                const std::function<void(const E2eQpStep&)>& on_step,
                                const std::function<bool()>& should_stop,
                                dist::World* world) {
    TORCH_CHECK(windows.dim() == 2 && windows.size(1) >= 2,
                "E2E-QP: windows must be (N, T + 1), got ",
                windows.sizes());
    const int ranks = world == nullptr ? 1 : world->size();
    TORCH_CHECK(options.global_batch % ranks == 0,
                "E2E-QP: the global batch ",
                options.global_batch,
                " does not split into ",
                ranks,
                " equal parts");
    // This rank's rows of every global batch (docs/efficientqat.md §Data-parallel runs).
    const int64_t rank_rows = options.global_batch / ranks;
    const int64_t rank_first = world == nullptr ? 0 : world->rank() * rank_rows;
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
    // A stop request is local to the process that got the signal; in a data-parallel run it is
    // shared by the ranks (before the first step alone, then riding with every step's
    // gradients), so every rank stops before the same step.
    const bool stop_asked = should_stop && should_stop();
    bool stop = world == nullptr ? stop_asked : world->any(stop_asked);
    model.train();
    int64_t step = 0;
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
        for (int64_t s = 0; s < per_epoch; ++s) {
            if (stop) {
                model.eval();
                return E2eQpEnd::kStopped;
            }
            const auto started = std::chrono::steady_clock::now();
            const double lr = e2e_qp_learning_rate(options.lr, options.warmup_ratio, step, total);
            static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[0].options()).lr(lr);
            optimizer.zero_grad();
            // Summed where the loss lives and read once per step: no host sync per micro-batch.
            torch::Tensor loss_sum;
            const int64_t first = s * options.global_batch + rank_first;
            for (int64_t m = 0; m < rank_rows; m += options.micro_batch) {
                const torch::Tensor batch = windows.slice(
                    0, first + m, first + std::min(m + options.micro_batch, rank_rows));
                const torch::Tensor inputs = batch.slice(1, 0, -1);
                const torch::Tensor targets = batch.slice(1, 1);
                const torch::Tensor loss = model::lm_loss(model.forward(inputs), targets);
                // Each micro-batch's mean weighted by its share of this rank's rows.
                const double share =
                    static_cast<double>(batch.size(0)) / static_cast<double>(rank_rows);
                (loss * share).backward();
                const torch::Tensor part = loss.detach().to(torch::kFloat64) * share;
                loss_sum = loss_sum.defined() ? loss_sum + part : part;
            }
            double mean_loss = 0;
            if (world != nullptr) {
                // [this rank's loss, stop flag] become sums over the ranks with the gradients,
                // which become means: the global batch's gradient.
                torch::Tensor riders =
                    torch::stack({loss_sum.to(torch::kCPU, torch::kFloat32),
                                  torch::tensor(should_stop && should_stop() ? 1.0F : 0.0F)});
                dist::average_gradients(*world, steps, riders);
                mean_loss = static_cast<double>(riders[0].item<float>()) / ranks;
                stop = riders[1].item<float>() > 0;
            }
            // The norm before clipping; an infinite limit leaves the gradients as they are.
            const double grad_norm = torch::nn::utils::clip_grad_norm_(
                steps,
                options.grad_clip > 0 ? options.grad_clip
                                      : std::numeric_limits<double>::infinity());
            optimizer.step();
            ++step;
            E2eQpStep record;
            record.step = step;
            record.total_steps = total;
            record.loss = world == nullptr ? loss_sum.item<double>() : mean_loss;
            record.lr = lr;
            record.grad_norm = grad_norm;
            record.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (on_step) {
                on_step(record);
            }
            // The loss is the same on every rank, so every rank ends here at the same step.
            if (!std::isfinite(record.loss)) {
                model.eval();
                return E2eQpEnd::kDiverged;
            }
            if (world == nullptr) {
                stop = should_stop && should_stop();
            }
        }
    }
    model.eval();
    return E2eQpEnd::kFinished;
}

}  // namespace lowbit::qat
