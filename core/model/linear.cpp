// LinearImpl: y = x Wᵀ + b with the weight stored (out, in) as torch::nn::Linear does, or the
// fake-quantized linear when the layer has W, A or G quantizers; plus the telemetry capture.
#include "lowbit/model/linear.h"

#include <utility>

namespace lowbit::model {

LinearImpl::LinearImpl(
    int64_t in_features, int64_t out_features, bool bias, std::string path, std::string role)
    : path_(std::move(path)), role_(std::move(role)) {
    TORCH_CHECK(in_features > 0 && out_features > 0,
                "Linear ",
                path_,
                ": sizes must be positive, got in=",
                in_features,
                " out=",
                out_features);
    weight_ = register_parameter("weight", torch::zeros({out_features, in_features}));
    if (bias) {
        bias_ = register_parameter("bias", torch::zeros({out_features}));
    }
}

LinearImpl::LinearImpl(torch::Tensor shared_weight, std::string path, std::string role)
    : weight_(std::move(shared_weight)),
      shared_(true),
      path_(std::move(path)),
      role_(std::move(role)) {
    TORCH_CHECK(weight_.defined() && weight_.dim() == 2,
                "Linear ",
                path_,
                ": a shared weight must be a defined (out, in) matrix");
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    // The one place a model multiplies by a weight matrix: (..., in) -> (..., out).
    if (weight_only_) {
        return weight_only_->forward(x, weight_, bias_);
    }
    const bool quantized = quantizers_ && quantizers_->quantizes_linear();
    quant::QuantizedLinearCall call =
        quantized ? quant::quantized_linear_call(*quantizers_, quant_step_, quant_micro_batch_)
                  : quant::QuantizedLinearCall{};
    if (x.dim() == 3) {
        call.positions = x.size(1);  // (B, T, in): T, for per_position quantizers
    }
    const torch::Tensor y = quantized
                                ? quant::quantized_linear(x, weight_, bias_, call, &weight_q_cache_)
                                : torch::nn::functional::linear(x, weight_, bias_);
    // Only training-mode forwards: an evaluation pass (eval mode) must not replace the step's.
    if (capture_ && is_training()) {
        capture_->input =
            quant::activation_quantizer_input(x.detach().reshape({-1, in_features()}), call);
        if (y.requires_grad()) {
            const int64_t out = out_features();
            // Capture the Capture, not `this`: the hook may outlive this call's module state.
            y.register_hook([capture = capture_, out, call](const torch::Tensor& grad) {
                capture->grad_output =
                    quant::grad_output_quantizer_input(grad.detach().reshape({-1, out}),
                                                       call.grad_output,
                                                       call.grad_output_blocks,
                                                       call.positions);
            });
        }
    }
    return y;
}

void LinearImpl::set_quantizers(std::shared_ptr<const quant::LayerQuantizers> quantizers) {
    TORCH_CHECK(!quantizers || quantizers->path == path_,
                "Linear ",
                path_,
                ": quantizers resolved for layer '",
                quantizers ? quantizers->path : std::string(),
                "'");
    quantizers_ = std::move(quantizers);
}

void LinearImpl::set_capture(bool enabled) {
    if (!enabled) {
        capture_.reset();
    } else if (!capture_) {
        capture_ = std::make_shared<Capture>();
    }
}

quant::QuantizerInput LinearImpl::captured_input() const {
    return capture_ ? capture_->input : quant::QuantizerInput{};
}

quant::QuantizerInput LinearImpl::captured_grad_output() const {
    return capture_ ? capture_->grad_output : quant::QuantizerInput{};
}

void LinearImpl::clear_capture() {
    if (capture_) {
        *capture_ = Capture{};
    }
}

void LinearImpl::pretty_print(std::ostream& stream) const {
    stream << "lowbit::model::Linear(" << path_ << ", role=" << role_ << ", in=" << in_features()
           << ", out=" << out_features() << ", bias=" << (has_bias() ? "true" : "false")
           << (shared_ ? ", shared weight" : "");
    if (quantizers_ && quantizers_->quantizes_anything()) {
        stream << ", quant: " << quant::describe(*quantizers_);
    }
    stream << ")";
}

}  // namespace lowbit::model
