// Enum names, the family default of the feed-forward width, the quantizable linear roles and
// QuantSpec::enabled() (declared in recipe.h).
#include "lowbit/config/recipe.h"

#include "lowbit/config/quant_layers.h"

#include "enum_names.h"

namespace lowbit::config {

const char* to_string(ModelFamily v) {
    return detail::enum_name(v);
}

const char* to_string(DataFormat v) {
    return detail::enum_name(v);
}

const char* to_string(TokenizerKind v) {
    return detail::enum_name(v);
}

const char* to_string(SentencePieceType v) {
    return detail::enum_name(v);
}

const char* to_string(Schedule v) {
    return detail::enum_name(v);
}

const char* to_string(Precision v) {
    return detail::enum_name(v);
}

const char* to_string(DeviceChoice v) {
    return detail::enum_name(v);
}

const char* to_string(Granularity v) {
    return detail::enum_name(v);
}

const char* to_string(Rounding v) {
    return detail::enum_name(v);
}

const char* to_string(QuantGrid v) {
    return detail::enum_name(v);
}

const char* to_string(BackwardMode v) {
    return detail::enum_name(v);
}

const char* to_string(QuantArithmetic v) {
    return detail::enum_name(v);
}

const char* to_string(ForwardGemm v) {
    return detail::enum_name(v);
}

const char* to_string(GradientAllreduce v) {
    return detail::enum_name(v);
}

const char* to_string(SecondMomentMapping v) {
    return detail::enum_name(v);
}

const char* to_string(QatMethod v) {
    return detail::enum_name(v);
}

std::vector<std::string> quant_roles(const ModelSpec& model) {
    if (model.family != ModelFamily::kLlama) {
        return {"qkv", "attn_out", "fc1", "fc2", "lm_head"};
    }
    std::vector<std::string> roles;
    for (const QuantLayer& layer : quant_layers(model)) {
        if (layer.path.starts_with("blocks.0.")) {
            roles.push_back(layer.role);
        }
    }
    roles.emplace_back("lm_head");
    return roles;
}

bool QuantSpec::enabled() const {
    const auto any = [](const std::optional<QuantizerSpec>& s) { return s && s->enabled(); };
    for (const QuantOverride& o : overrides) {
        if (any(o.weight) || any(o.activation) || any(o.grad_output) || any(o.optim_m) ||
            any(o.optim_v)) {
            return true;
        }
    }
    return weight.enabled() || activation.enabled() || grad_output.enabled() || optim_m.enabled() ||
           optim_v.enabled();
}

int effective_d_ff(const ModelSpec& model) {
    if (model.d_ff > 0) {
        return model.d_ff;
    }
    if (model.family == ModelFamily::kLlama) {
        // ceil(8·d/3), then up to the next multiple of 32.
        const int64_t swiglu = (8 * static_cast<int64_t>(model.d_model) + 2) / 3;
        return static_cast<int>((swiglu + 31) / 32 * 32);
    }
    return 4 * model.d_model;
}

}  // namespace lowbit::config
