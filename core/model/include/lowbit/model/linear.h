// Linear: the single linear-layer abstraction of every model (weight (out, in), optional bias),
// carrying its stable layer path ("blocks.3.attn.qkv") and role ("qkv", "fc1", "q", "lm_head").
// Every matmul of a model goes through here, so this is where quantization hooks in: with W, A or
// G quantized, forward runs quant::QuantizedLinearFunction, otherwise a plain linear. It also
// offers a capture of its input and output gradient for the quantization telemetry.
#pragma once

#include "lowbit/model/weight_only_linear.h"
#include "lowbit/quant/layer_quantizers.h"
#include "lowbit/quant/quantized_linear.h"
#include "lowbit/quant/weight_quant_cache.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace lowbit::model {

class LinearImpl : public torch::nn::Module {
public:
    // A layer that owns its weight (out_features, in_features) and, when `bias`, a bias (out).
    // Parameters start as zeros; the model initialises them from its seed.
    LinearImpl(
        int64_t in_features, int64_t out_features, bool bias, std::string path, std::string role);

    // A bias-free layer whose weight (out, in) is owned (registered) elsewhere, e.g. an lm_head
    // tied to the token embedding: same tensor, one parameter, so it is not registered here.
    LinearImpl(torch::Tensor shared_weight, std::string path, std::string role);

    // x (..., in) -> (..., out). Quantized as set_quantizers says, in training and evaluation.
    torch::Tensor forward(const torch::Tensor& x);

    // The layer's quantizers (null or nothing on W, A, G: a plain linear; m and v are the
    // optimizer's business). Shared with the model's QuantPlan.
    void set_quantizers(std::shared_ptr<const quant::LayerQuantizers> quantizers);

    const std::shared_ptr<const quant::LayerQuantizers>& quantizers() const {
        return quantizers_;
    }

    // A weight-only quantized product that replaces this layer's (null: none). It takes
    // precedence over the pretraining quantizers and skips the telemetry capture.
    void set_weight_only(std::shared_ptr<WeightOnlyLinear> weight_only) {
        weight_only_ = std::move(weight_only);
    }

    const std::shared_ptr<WeightOnlyLinear>& weight_only() const {
        return weight_only_;
    }

    // The training step and micro-batch of the next forward calls; with the layer index and the
    // recipe seed they fix the stochastic-rounding seeds (see quant::stochastic_rounding_seed).
    void set_quant_step(int64_t step, int64_t micro_batch) {
        quant_step_ = step;
        quant_micro_batch_ = micro_batch;
    }

    // Telemetry capture. While on, each training-mode forward keeps what its activation
    // quantizer received, and its backward what the output-gradient quantizer received: the
    // detached, unquantized tensor in the view the quantizer lays its scales on, in the dtype it
    // had, with the quantizer and seed of that call (quant::QuantizerInput; no quantizer for a
    // tensor that stays in full precision, which is then (B·T, in) or (B·T, out)). The last
    // micro-batch wins; evaluation (eval mode) leaves them alone. Off (the default) costs
    // nothing. Undefined until captured. Not thread-safe: read them between steps.
    void set_capture(bool enabled);

    bool capture_enabled() const {
        return capture_ != nullptr;
    }

    quant::QuantizerInput captured_input() const;
    quant::QuantizerInput captured_grad_output() const;
    // Drops the captured tensors (capture stays on or off as it was).
    void clear_capture();

    // How many times this layer fake-quantized its weight (WeightQuantCache::computations).
    std::int64_t weight_quantizations() const {
        return weight_q_cache_.computations();
    }

    const torch::Tensor& weight() const {
        return weight_;
    }

    // Undefined when the layer has no bias.
    const torch::Tensor& bias() const {
        return bias_;
    }

    bool has_bias() const {
        return bias_.defined();
    }

    bool weight_is_shared() const {
        return shared_;
    }

    int64_t in_features() const {
        return weight_.size(1);
    }

    int64_t out_features() const {
        return weight_.size(0);
    }

    const std::string& path() const {
        return path_;
    }

    const std::string& role() const {
        return role_;
    }

    void pretty_print(std::ostream& stream) const override;

private:
    // Held through a shared_ptr so the backward hook can write into it without pointing at the
    // module (modules can be copied or destroyed while a graph is alive).
    struct Capture {
        quant::QuantizerInput input;        // X as Q_A sees it
        quant::QuantizerInput grad_output;  // G as Q_G sees it
    };

    torch::Tensor weight_;  // (out, in)
    torch::Tensor bias_;    // (out) or undefined
    bool shared_ = false;
    std::string path_;
    std::string role_;
    std::shared_ptr<const quant::LayerQuantizers> quantizers_;
    std::shared_ptr<WeightOnlyLinear> weight_only_;
    int64_t quant_step_ = 0;
    int64_t quant_micro_batch_ = 0;
    std::shared_ptr<Capture> capture_;  // null: capture off
    // Q_W(W) between optimizer steps (round-to-nearest weight quantizers).
    quant::WeightQuantCache weight_q_cache_;
};

TORCH_MODULE(Linear);

}  // namespace lowbit::model
