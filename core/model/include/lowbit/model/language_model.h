// LanguageModelImpl: the common interface of every decoder-only model (GPT-2, Llama): token ids
// in, fp32 logits out, its config, its Linear layers in a stable order, and the seeded factory.
#pragma once

#include "lowbit/model/linear.h"
#include "lowbit/model/model_config.h"
#include "lowbit/quant/quant_plan.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace lowbit::model {

class LanguageModelImpl : public torch::nn::Module {
public:
    explicit LanguageModelImpl(ModelConfig cfg);

    // ids (B, T) int64 with T <= context -> logits (B, T, vocab) fp32.
    virtual torch::Tensor forward(const torch::Tensor& ids) = 0;

    const ModelConfig& config() const {
        return config_;
    }

    // Every Linear of the model in a stable order: block by block in forward order, then
    // lm_head. The handles share the modules, so changes made through them reach the model.
    std::vector<Linear> linears() const {
        return linears_;
    }

    // Block-wise access, for methods that work one block at a time (docs/efficientqat.md
    // §Block-AP). forward(ids) is head(block_forward(L−1, … block_forward(0, embed(ids)))).
    // ids (B, T) int64 -> the input of block 0 (B, T, C).
    virtual torch::Tensor embed(const torch::Tensor& ids) = 0;
    virtual int64_t block_count() const = 0;
    // The block module (its parameters: the Linear weights and biases, and the norms).
    virtual std::shared_ptr<torch::nn::Module> block(int64_t index) const = 0;
    // h (B, T, C) -> (B, T, C) through block `index`.
    virtual torch::Tensor block_forward(int64_t index, const torch::Tensor& h) = 0;
    // The last block's output (B, T, C) -> logits (B, T, vocab) fp32: final norm and lm_head.
    virtual torch::Tensor head(const torch::Tensor& h) = 0;
    // The Linear layers of block `index`, in forward order.
    std::vector<Linear> block_linears(int64_t index) const;

    // Number of distinct trainable scalars (a tied lm_head is counted once).
    int64_t parameter_count() const;

    // Initialises every parameter from `seed` alone (same seed, same weights, on any thread).
    virtual void reset_parameters(uint64_t seed) = 0;

    // Installs a plan from quant::resolve_quant_plan(recipe, *this): each Linear gets its entry
    // (plan.layers[i] for linears()[i]). Null removes all quantization. Throws c10::Error if the
    // plan was resolved for another model (count or paths differ).
    void set_quant_plan(std::shared_ptr<const quant::QuantPlan> plan);

    // The installed plan (null when none): the optimizer reads optim_m / optim_v from it.
    const std::shared_ptr<const quant::QuantPlan>& quant_plan() const {
        return quant_plan_;
    }

    // Called by the trainer before each micro-batch's forward: the step (0-based, the one being
    // computed) and micro-batch seed stochastic rounding, so a resumed run rounds the same.
    void set_quant_step(int64_t step, int64_t micro_batch = 0);

protected:
    // Called by subclasses while building, in forward order.
    void add_linear(const Linear& linear) {
        linears_.push_back(linear);
    }

    // Checks ids (B, T) int64 with 1 <= T <= context; throws c10::Error otherwise.
    void check_ids(const torch::Tensor& ids) const;

    ModelConfig config_;

private:
    std::vector<Linear> linears_;
    std::shared_ptr<const quant::QuantPlan> quant_plan_;
};

// Builds the model of cfg.family and initialises it deterministically from `seed`.
std::shared_ptr<LanguageModelImpl> create_model(const ModelConfig& cfg, uint64_t seed);

// Mean next-token cross entropy in nats, computed in fp32.
// logits (B, T, V) or (N, V); targets (B, T) or (N) int64.
torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// Initialisation helpers shared by the model files. All draw from `gen` on the CPU in fp32 and
// copy into the parameter, so results do not depend on the parameter's device.
void init_normal(torch::Tensor& param, double std, torch::Generator& gen);

}  // namespace lowbit::model
