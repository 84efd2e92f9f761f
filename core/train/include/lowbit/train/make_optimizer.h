// Chooses and builds a run's optimizer from its recipe and the model's installed QuantPlan:
// plain AdamW (float32 moments) when no layer quantizes optim_m or optim_v, otherwise
// QuantizedAdamW with each Linear weight's stored-moment formats; in a data-parallel job with
// distributed.shard_optimizer_states, either one sharded across the ranks (sharded_optimizer.h).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/dist/world.h"
#include "lowbit/model/language_model.h"
#include "lowbit/train/adamw.h"
#include "lowbit/train/optimizer.h"

#include <memory>

namespace lowbit::train {

// The AdamW hyperparameters of recipe.train (betas, eps, weight_decay).
AdamWOptions adamw_options(const config::TrainSpec& train);

// Which parameters get quantized moments follows the reference code (see
// docs/quantized-pretraining.md §Quantized AdamW): the weight matrix of a Linear whose plan entry
// has optim_m / optim_v, and that owns its weight. A tied lm_head shares the token embedding's
// tensor, and the reference code enumerates that tensor under the embedding, so its moments stay
// float32; biases, norms and embeddings too. Throws util::BadInput for a state quantizer the
// optimizer cannot store (stochastic rounding). `world` (not owned; must outlive the optimizer)
// is the job to shard the state across when the recipe asks for it and it has several ranks.
std::unique_ptr<Optimizer> make_optimizer(const config::Recipe& recipe,
                                          const model::LanguageModelImpl& model,
                                          dist::World* world = nullptr);

// Whether `optimizer` (or, sharded, its own part) keeps every moment in float32 (AdamW).
bool keeps_float_moments(const Optimizer& optimizer);

}  // namespace lowbit::train
