// LayerTelemetry (see layer_telemetry.h): picks the layers, drives their capture, and hands W
// and what the quantizers and the optimizer handed over to the TelemetryCollector.
#include "lowbit/train/layer_telemetry.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace lowbit::train {
namespace {

using telemetry::TensorKind;

// Whether the run quantizes any tensor of this layer: W, A or G, or moments the optimizer stores
// in low-bit form. A tied lm_head's moments are the embedding's and stay float32
// (make_optimizer.h), so optim_m / optim_v alone do not make it a quantized layer.
bool really_quantizes(const model::LinearImpl& linear) {
    const quant::LayerQuantizers* q = linear.quantizers().get();
    return q &&
           (q->quantizes_linear() || (!linear.weight_is_shared() && (q->optim_m || q->optim_v)));
}

// The same values under the same quantizer: one storage, offset, shape, strides and type.
bool same_operand(const quant::QuantizerInput& a, const quant::QuantizerInput& b) {
    return a.x.defined() && b.x.defined() && a.params == b.params &&
           a.x.data_ptr() == b.x.data_ptr() && a.x.sizes() == b.x.sizes() &&
           a.x.strides() == b.x.strides() && a.x.scalar_type() == b.x.scalar_type() &&
           a.x.device() == b.x.device();
}

}  // namespace

LayerTelemetry::LayerTelemetry(const config::Recipe& recipe, model::LanguageModelImpl& model)
    : schedule_(recipe.telemetry), collector_(schedule_.stats_spec()) {
    std::map<const void*, std::string> param_names;  // storage of a tensor -> its parameter
    for (const auto& item : model.named_parameters()) {
        param_names.emplace(item.value().unsafeGetTensorImpl(), item.key());
    }
    const std::vector<model::Linear> linears = model.linears();
    std::vector<bool> quantized(linears.size());
    for (size_t i = 0; i < linears.size(); ++i) {
        quantized[i] = really_quantizes(*linears[i]);
    }
    const bool any_quantized =
        std::find(quantized.begin(), quantized.end(), true) != quantized.end();
    for (size_t i = 0; i < linears.size(); ++i) {
        if (quantized[i] || !any_quantized) {
            const auto name = param_names.find(linears[i]->weight().unsafeGetTensorImpl());
            layers_.push_back(
                {linears[i], name == param_names.end() ? std::string() : name->second});
            if (!layers_.back().param_name.empty()) {
                layer_of_param_.emplace(layers_.back().param_name, layers_.size() - 1);
            }
        }
    }
}

LayerTelemetry::~LayerTelemetry() {
    set_capture(false);
    if (observed_ != nullptr) {
        observed_->observe_moments(nullptr);
    }
}

bool LayerTelemetry::begin_step(std::int64_t done) {
    const bool due = schedule_.due(done) && !layers_.empty();
    const bool needs_capture =
        schedule_.records(TensorKind::kActivation) || schedule_.records(TensorKind::kGradOutput);
    set_capture(due && needs_capture);
    if (due) {
        collector_.begin_step(done);
    }
    return due;
}

void LayerTelemetry::set_capture(bool enabled) {
    for (Layer& layer : layers_) {
        layer.linear->set_capture(enabled);
    }
}

void LayerTelemetry::add(const Layer& layer,
                         TensorKind kind,
                         const torch::Tensor& x,
                         const std::optional<kernels::FakeQuantParams>& params) {
    if (x.defined() && schedule_.records(kind)) {
        collector_.add(layer.linear->path(), kind, x, params ? &*params : nullptr);
    }
}

void LayerTelemetry::before_update(Optimizer& optimizer) {
    torch::NoGradGuard no_grad;
    // Inputs already queued, with their entry: q, k and v (gate and up) read one tensor, and
    // with the same quantizer its statistics are the same, so they are computed once. The
    // captures keep every input alive, so equal memory and layout mean equal values.
    std::vector<std::pair<quant::QuantizerInput, std::size_t>> queued_inputs;
    const bool records_inputs = schedule_.records(TensorKind::kActivation);
    for (const Layer& layer : layers_) {
        const quant::QuantizerInput a = layer.linear->captured_input();
        if (records_inputs && a.x.defined()) {
            const auto same = std::find_if(queued_inputs.begin(),
                                           queued_inputs.end(),
                                           [&](const auto& q) { return same_operand(q.first, a); });
            if (same != queued_inputs.end()) {
                collector_.add_same_as(same->second, layer.linear->path(), TensorKind::kActivation);
            } else {
                add(layer, TensorKind::kActivation, a.x, a.params);
                queued_inputs.emplace_back(a, collector_.pending() - 1);
            }
        }
        const quant::QuantizerInput g = layer.linear->captured_grad_output();
        add(layer, TensorKind::kGradOutput, g.x, g.params);
    }
    if (schedule_.records(TensorKind::kOptimM) || schedule_.records(TensorKind::kOptimV)) {
        observed_ = &optimizer;
        optimizer.observe_moments(&router_);
    }
}

void LayerTelemetry::MomentRouter::on_moments(const UpdatedMoments& moments) {
    const auto found = owner_.layer_of_param_.find(moments.param_name);
    if (found == owner_.layer_of_param_.end()) {
        return;  // not the weight of a recorded layer (embeddings, norms, biases)
    }
    const Layer& layer = owner_.layers_[found->second];
    owner_.add(layer, TensorKind::kOptimM, moments.m, moments.m_params);
    owner_.add(layer, TensorKind::kOptimV, moments.v, moments.v_params);
}

std::size_t LayerTelemetry::finish_step(std::int64_t done,
                                        store::RunWriter& writer,
                                        std::int64_t run_id) {
    if (observed_ != nullptr) {
        observed_->observe_moments(nullptr);
        observed_ = nullptr;
    }
    {
        torch::NoGradGuard no_grad;
        for (const Layer& layer : layers_) {
            const quant::LayerQuantizers* q = layer.linear->quantizers().get();
            add(layer,
                TensorKind::kWeight,
                layer.linear->weight().detach(),
                q ? q->params(TensorKind::kWeight) : std::optional<kernels::FakeQuantParams>());
        }
    }
    set_capture(false);
    TORCH_CHECK(collector_.step() == done, "telemetry: step ", done, " was not begun");
    return collector_.flush(writer, run_id);
}

}  // namespace lowbit::train
