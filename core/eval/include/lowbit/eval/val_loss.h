// Validation loss during training: mean next-token cross entropy (nats) over a fixed set of
// evaluation windows (BatchSampler::sample_eval), so successive evaluations are comparable.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/data/batch_sampler.h"
#include "lowbit/model/language_model.h"

#include <torch/torch.h>

namespace lowbit::eval {

double estimate_loss(model::LanguageModelImpl& model,
                     const data::BatchSampler& sampler,
                     int batches,
                     int batch_size,
                     int context,
                     const torch::Device& device,
                     config::Precision precision);

}  // namespace lowbit::eval
