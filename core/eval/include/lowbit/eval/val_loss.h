// Validation loss during training: mean next-token cross entropy (nats) over a fixed set of
// evaluation windows (BatchSampler::sample_eval), so successive evaluations are comparable.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/data/batch_sampler.h"
#include "lowbit/model/language_model.h"

#include <torch/torch.h>

namespace lowbit::eval {

/// The rows of every evaluation batch one rank of a data-parallel job evaluates: `count` rows
/// from `first` (docs/distributed.md §Replicas). The default: all of them.
struct RowShare {
    int first = 0;
    int count = -1;  // -1: batch_size
};

/// The mean over `batches` evaluation batches of the mean loss over the `rows` of each; with
/// equal shares, the mean of the ranks' results is the whole batches' loss.
double estimate_loss(model::LanguageModelImpl& model,
                     const data::BatchSampler& sampler,
                     int batches,
                     int batch_size,
                     int context,
                     const torch::Device& device,
                     config::Precision precision,
                     RowShare rows = {});

}  // namespace lowbit::eval
