// LayerTelemetry (see layer_telemetry.h): picks the layers, drives their capture, and feeds W, A,
// G, m_t and v_t with their quantizers to the TelemetryCollector.
#include "lowbit/train/layer_telemetry.h"

#include "lowbit/train/quantized_adamw.h"

#include <algorithm>
#include <map>
#include <utility>

namespace lowbit::train {
namespace {

using telemetry::TensorKind;

// A layer's float moments before the update, and the quantizers that will store the new ones.
struct StoredMoments {
    torch::Tensor m;  // param's shape, float32
    torch::Tensor v;
    std::optional<kernels::FakeQuantParams> m_params;
    std::optional<kernels::FakeQuantParams> v_params;
};

// Every parameter's moments as the next update reads them: dequantized for QuantizedAdamW's
// quantized slots, AdamW's float32 tensors ("<param>.exp_avg", "<param>.exp_avg_sq") otherwise.
std::map<std::string, StoredMoments> moments_by_param(const Optimizer& optimizer) {
    std::map<std::string, StoredMoments> out;
    if (const auto* quantized = dynamic_cast<const QuantizedAdamW*>(&optimizer)) {
        for (QuantizedMomentsView& view : quantized->quantized_moments()) {
            out[view.name] = {view.m, view.v, view.m_params, view.v_params};
        }
    }
    std::map<std::string, torch::Tensor> floats;
    for (auto& [name, tensor] : optimizer.state()) {
        floats.emplace(name, tensor);
    }
    for (const auto& [name, tensor] : floats) {
        constexpr std::string_view kSuffix = ".exp_avg";
        if (name.size() <= kSuffix.size() ||
            name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
            continue;
        }
        const std::string param = name.substr(0, name.size() - kSuffix.size());
        const auto v = floats.find(param + ".exp_avg_sq");
        if (!out.contains(param) && v != floats.end()) {
            out[param] = {tensor, v->second, std::nullopt, std::nullopt};
        }
    }
    return out;
}

// Whether the run quantizes any tensor of this layer: W, A or G, or moments the optimizer stores
// in low-bit form. A tied lm_head's moments are the embedding's and stay float32
// (make_optimizer.h), so optim_m / optim_v alone do not make it a quantized layer.
bool really_quantizes(const model::LinearImpl& linear) {
    const quant::LayerQuantizers* q = linear.quantizers().get();
    return q &&
           (q->quantizes_linear() || (!linear.weight_is_shared() && (q->optim_m || q->optim_v)));
}

}  // namespace

LayerTelemetry::LayerTelemetry(const config::Recipe& recipe, model::LanguageModelImpl& model)
    : schedule_(recipe.telemetry),
      beta1_(recipe.train.betas[0]),
      beta2_(recipe.train.betas[1]),
      sqrt_v_(recipe.quant.optim_v_mapping == config::SecondMomentMapping::kSqrt),
      collector_(schedule_.stats_spec()) {
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
        }
    }
}

LayerTelemetry::~LayerTelemetry() {
    set_capture(false);
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

void LayerTelemetry::add_before_update(const Optimizer& optimizer) {
    torch::NoGradGuard no_grad;
    const bool wants_moments =
        schedule_.records(TensorKind::kOptimM) || schedule_.records(TensorKind::kOptimV);
    const std::map<std::string, StoredMoments> moments =
        wants_moments ? moments_by_param(optimizer) : std::map<std::string, StoredMoments>{};
    for (const Layer& layer : layers_) {
        const quant::LayerQuantizers* q = layer.linear->quantizers().get();
        auto params = [&](TensorKind kind) {
            return q ? q->params(kind) : std::optional<kernels::FakeQuantParams>();
        };
        add(layer,
            TensorKind::kActivation,
            layer.linear->captured_input(),
            params(TensorKind::kActivation));
        torch::Tensor g = layer.linear->captured_grad_output();  // (B·T, out)
        std::optional<kernels::FakeQuantParams> g_params = params(TensorKind::kGradOutput);
        if (g.defined() && g_params && q->grad_output_blocks > 1) {
            // Split q/k/v blocks have their own scales; view G so the quantizer sees exactly
            // the blocks the backward quantizes.
            const int64_t blocks = q->grad_output_blocks;
            const int64_t width = g.size(1) / blocks;
            if (g_params->granularity == kernels::Granularity::kPerTensor) {
                // One scale per block: (blocks, B·T·width) rows, quantized per row (kPerToken
                // for this G-shaped view; per_channel would lay the same rows).
                g = g.reshape({-1, blocks, width}).transpose(0, 1).reshape({blocks, -1});
                g_params->granularity = kernels::Granularity::kPerToken;
            } else {
                // Per token or per group within a block: (B·T·blocks, width) rows.
                g = g.reshape({-1, width});
            }
        }
        add(layer, TensorKind::kGradOutput, g, g_params);

        const auto stored = moments.find(layer.param_name);
        const torch::Tensor& grad = layer.linear->weight().grad();
        if (stored == moments.end() || !grad.defined()) {
            continue;
        }
        // The moments this update computes (AdamW: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²).
        const torch::Tensor g32 = grad.to(torch::kFloat32);
        const torch::Tensor m_t = stored->second.m * beta1_ + g32 * (1.0 - beta1_);
        const torch::Tensor v_t = stored->second.v * beta2_ + g32.square() * (1.0 - beta2_);
        add(layer, TensorKind::kOptimM, m_t, stored->second.m_params);
        add(layer,
            TensorKind::kOptimV,
            sqrt_v_ && stored->second.v_params ? v_t.sqrt() : v_t,
            stored->second.v_params);
    }
}

std::size_t LayerTelemetry::finish_step(std::int64_t done,
                                        store::RunWriter& writer,
                                        std::int64_t run_id) {
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
