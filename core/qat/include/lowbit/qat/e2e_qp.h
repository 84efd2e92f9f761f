// E2E-QP (docs/efficientqat.md §E2E-QP): with every block Linear packed, trains only the fp32
// steps s end to end on next-token cross-entropy; codes and zero points never change.
#pragma once

#include "lowbit/dist/world.h"
#include "lowbit/model/language_model.h"
#include "lowbit/qat/packed_linear.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace lowbit::qat {

struct E2eQpOptions {
    double lr = 1e-5;
    double warmup_ratio = 0.03;
    double grad_clip = 0.3;  // global norm over the steps; 0 turns clipping off
    int64_t global_batch = 32;
    int64_t micro_batch = 4;  // windows per forward; accumulated to global_batch
    int epochs = 1;
    double weight_decay = 0.0;
};

struct E2eQpStep {
    int64_t step = 0;  // 1-based
    int64_t total_steps = 0;
    double loss = 0;  // mean over the global batch
    double lr = 0;
    double grad_norm = 0;  // before clipping
    double seconds = 0;
};

// The learning rate of 0-based step `step` of `total`: linear warmup over ceil(warmup_ratio ·
// total) steps from lr/warmup to lr, then a cosine to 0.
double e2e_qp_learning_rate(double lr, double warmup_ratio, int64_t step, int64_t total);

// How train_steps_end_to_end ended.
enum class E2eQpEnd {
    kFinished,  // every step of every epoch
    kStopped,   // `should_stop` said so (on any rank) before a step
    kDiverged,  // a step's loss was not finite (that step was taken and reported)
};

// Trains on windows (N, T + 1) int64 (inputs are [:, :T], targets [:, 1:]), in order, global_batch
// windows per optimizer step, the last partial batch dropped. Every other parameter of the model
// is frozen; the model is put in train mode for the run and back in eval mode after.
// `on_step` after every optimizer step; `should_stop` is asked before each step.
// With a `world` of N ranks (collective; global_batch divisible by N), rank r computes rows
// r·B/N … (r+1)·B/N − 1 of each global batch B, the steps' gradients are averaged over the ranks
// and the reported loss is the global batch's: every rank takes the same steps and ends alike.
E2eQpEnd train_steps_end_to_end(model::LanguageModelImpl& model,
                                const torch::Tensor& windows,
                                const E2eQpOptions& options,
                                const std::function<void(const E2eQpStep&)>& on_step,
                                const std::function<bool()>& should_stop = {},
                                dist::World* world = nullptr);

}  // namespace lowbit::qat
