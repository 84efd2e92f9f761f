// LanguageModelImpl shared pieces: parameter counting, id checks, the model factory, lm_loss.
#include "lowbit/model/language_model.h"

#include "lowbit/model/gpt2_model.h"
#include "lowbit/model/llama_model.h"

#include <stdexcept>

namespace lowbit::model {

LanguageModelImpl::LanguageModelImpl(ModelConfig cfg) : config_(std::move(cfg)) {
    validate(config_);
}

int64_t LanguageModelImpl::parameter_count() const {
    // Tied weights are registered once (see LinearImpl's shared constructor), so a plain sum over
    // parameters() counts each tensor exactly once.
    int64_t n = 0;
    for (const auto& p : parameters()) {
        n += p.numel();
    }
    return n;
}

std::vector<Linear> LanguageModelImpl::block_linears(int64_t index) const {
    TORCH_CHECK(index >= 0 && index < block_count(), "block_linears: no block ", index);
    const std::string prefix = "blocks." + std::to_string(index) + ".";
    std::vector<Linear> out;
    for (const Linear& linear : linears_) {
        if (linear->path().rfind(prefix, 0) == 0) {
            out.push_back(linear);
        }
    }
    return out;
}

void LanguageModelImpl::set_quant_plan(std::shared_ptr<const quant::QuantPlan> plan) {
    if (plan) {
        TORCH_CHECK(plan->layers.size() == linears_.size(),
                    "set_quant_plan: the plan has ",
                    plan->layers.size(),
                    " layers, the model ",
                    linears_.size());
        for (size_t i = 0; i < linears_.size(); ++i) {
            TORCH_CHECK(plan->layers[i] && plan->layers[i]->path == linears_[i]->path(),
                        "set_quant_plan: plan entry ",
                        i,
                        " is not for layer ",
                        linears_[i]->path());
        }
    }
    for (size_t i = 0; i < linears_.size(); ++i) {
        linears_[i]->set_quantizers(plan ? plan->layers[i] : nullptr);
    }
    quant_plan_ = std::move(plan);
}

void LanguageModelImpl::set_quant_step(int64_t step, int64_t micro_batch) {
    for (auto& linear : linears_) {
        linear->set_quant_step(step, micro_batch);
    }
}

void LanguageModelImpl::check_ids(const torch::Tensor& ids) const {
    TORCH_CHECK(ids.dim() == 2, "model input ids must be (B, T), got ", ids.sizes());
    TORCH_CHECK(ids.scalar_type() == torch::kInt64,
                "model input ids must be int64, got ",
                ids.scalar_type());
    TORCH_CHECK(ids.size(1) >= 1 && ids.size(1) <= config_.context,
                "sequence length ",
                ids.size(1),
                " is outside [1, context=",
                config_.context,
                "]");
}

std::shared_ptr<LanguageModelImpl> create_model(const ModelConfig& cfg, uint64_t seed) {
    std::shared_ptr<LanguageModelImpl> model;
    switch (cfg.family) {
        case config::ModelFamily::kGpt2:
            model = std::make_shared<Gpt2ModelImpl>(cfg);
            break;
        case config::ModelFamily::kLlama:
            model = std::make_shared<LlamaModelImpl>(cfg);
            break;
    }
    if (!model) {
        throw std::invalid_argument("create_model: unknown model family");
    }
    model->reset_parameters(seed);
    return model;
}

torch::Tensor lm_loss(const torch::Tensor& logits, const torch::Tensor& targets) {
    TORCH_CHECK(logits.dim() == targets.dim() + 1,
                "lm_loss: logits ",
                logits.sizes(),
                " do not match targets ",
                targets.sizes());
    const int64_t vocab = logits.size(-1);
    auto flat_logits = logits.reshape({-1, vocab}).to(torch::kFloat32);  // (N, V)
    auto flat_targets = targets.reshape({-1}).to(torch::kInt64);         // (N)
    return torch::nn::functional::cross_entropy(flat_logits, flat_targets);
}

void init_normal(torch::Tensor& param, double std, torch::Generator& gen) {
    torch::NoGradGuard no_grad;
    auto values = torch::empty(param.sizes(), torch::kFloat32);
    values.normal_(0.0, std, gen);
    param.copy_(values);
}

}  // namespace lowbit::model
