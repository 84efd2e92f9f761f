// The quant: rows of the schema table (one block of keys per tensor type, scope, backward,
// split_qkv_grad, overrides) and the quant rules that span several keys: granularity per tensor
// type, group sizes that must divide the layer widths, scope roles per model family.
#include "lowbit/config/recipe_schema.h"

#include <algorithm>
#include <functional>
#include <set>

#include "key_suggest.h"
#include "schema_rows.h"

namespace lowbit::config {
namespace {

struct TensorDoc {
    const char* name;
    const char* what;
};

// One linear role: its input and output width (0: unknown until the tokenizer is known).
struct RoleShape {
    std::string role;
    int in = 0;
    int out = 0;
    const char* in_key;
    const char* out_key;
};

std::vector<RoleShape> role_shapes(const ModelSpec& m) {
    const int d = m.d_model;
    const int ff = effective_d_ff(m);
    const char* dk = "model.d_model";
    const char* fk = "the effective model.d_ff";
    const RoleShape head{"lm_head", d, m.vocab_size, dk, "model.vocab_size"};
    if (m.family == ModelFamily::kLlama) {
        return {{"q", d, d, dk, dk},
                {"k", d, d, dk, dk},
                {"v", d, d, dk, dk},
                {"o", d, d, dk, dk},
                {"gate", d, ff, dk, fk},
                {"up", d, ff, dk, fk},
                {"down", ff, d, fk, dk},
                head};
    }
    return {{"qkv", d, 3 * d, dk, "3*model.d_model"},
            {"attn_out", d, d, dk, dk},
            {"fc1", d, ff, dk, fk},
            {"fc2", ff, d, fk, dk},
            head};
}

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& w : words) {
        text += (text.empty() ? "" : ", ") + w;
    }
    return text;
}

using Fail = std::function<void(std::string, std::string, std::string)>;

// Rules of one quantizer entry; `prefix` is e.g. "quant.weight" or "quant.overrides[0].weight".
void check_entry(const Recipe& r,
                 const std::string& tensor,
                 const QuantizerSpec& spec,
                 const std::string& prefix,
                 const std::string& locate_at,
                 const Fail& fail) {
    const std::string gran = prefix + ".granularity";
    const std::string& other = locate_at;
    const bool is_state = tensor == "optim_m" || tensor == "optim_v";
    if ((tensor == "weight" || is_state) && spec.granularity == Granularity::kPerToken) {
        fail(gran,
             other,
             "per_token is for activations and gradients (expected per_tensor, per_channel or "
             "per_group; per_channel gives one scale per output row)");
    } else if (!(tensor == "weight" || is_state) && spec.granularity == Granularity::kPerChannel) {
        fail(gran,
             other,
             "per_channel is for weights and optimizer states (expected per_tensor, per_token or "
             "per_group; per_token gives one scale per row of the [B*T, C] tensor)");
    }
    if (spec.granularity != Granularity::kPerGroup) {
        return;
    }
    const std::vector<std::string>& scope = r.quant.scope;
    for (const RoleShape& shape : role_shapes(r.model)) {
        if (!scope.empty() && std::find(scope.begin(), scope.end(), shape.role) == scope.end()) {
            continue;
        }
        const bool by_out = tensor == "grad_output";  // G is [B*T, out]: groups along out
        const int width = by_out ? shape.out : shape.in;
        if (width > 0 && width % spec.group_size != 0) {
            fail(prefix + ".group_size",
                 locate_at.empty() ? gran : locate_at,
                 std::to_string(spec.group_size) + " does not divide " + std::to_string(width) +
                     ", the " + (by_out ? "output" : "input") + " width of " + shape.role + " (" +
                     (by_out ? shape.out_key : shape.in_key) +
                     ") (expected a group size that divides every quantized layer width)");
            return;
        }
    }
}

}  // namespace

namespace detail {

void add_quant_fields(std::vector<FieldSpec>& f) {
    for (const QuantTensorSpec& t : quant_tensors()) {
        const auto m = t.member;
        const std::string p = "quant." + t.name + ".";
        FieldSpec bits = field(
            p + "bits",
            [m](auto& r) -> auto& { return (r.quant.*m).bits; },
            "Bit-width of the integer grid; 16 or 32 = off (full precision)");
        bits.allowed = {2, 3, 4, 5, 6, 7, 8, 16, 32};
        bits.allowed_text = "2..8, or 16/32 for off";
        bits.noun = "bit-width";
        f.push_back(std::move(bits));
        f.push_back(field(
            p + "granularity",
            [m](auto& r) -> auto& { return (r.quant.*m).granularity; },
            "One scale per tensor, output row (channel), token row or group of group_size"));
        f.push_back(field(
            p + "group_size",
            [m](auto& r) -> auto& { return (r.quant.*m).group_size; },
            "Elements per scale along the last axis (per_group); must divide the layer widths",
            closed(2, 1 << 20)));
        f.push_back(field(
            p + "symmetric",
            [m](auto& r) -> auto& { return (r.quant.*m).symmetric; },
            "Absmax scale with zero point 0; false: min-max scale with an integer zero point"));
        f.push_back(field(
            p + "rounding",
            [m](auto& r) -> auto& { return (r.quant.*m).rounding; },
            "Round to nearest (half to even) or stochastically"));
        f.push_back(field(
            p + "min_range",
            [m](auto& r) -> auto& { return (r.quant.*m).min_range; },
            "Floor r_min of the range the scale is computed from",
            above(0)));
        f.push_back(field(
            p + "grid",
            [m](auto& r) -> auto& { return (r.quant.*m).grid; },
            "reference: paper code's grid, asymmetric step (max-min)/(2*Qp); full: 2^b-1 levels"));
    }
    f.push_back(field(
        "quant.scope",
        [](auto& r) -> auto& { return r.quant.scope; },
        "Linears (GPT-2: qkv attn_out fc1 fc2; Llama: q k v o gate up down; lm_head); empty = "
        "all"));
    f.push_back(field(
        "quant.backward",
        [](auto& r) -> auto& { return r.quant.backward; },
        "GEMMs fed the quantized dL/dY: paper (dW), switchback (dX), both; ste: classic STE"));
    f.push_back(field(
        "quant.split_qkv_grad",
        [](auto& r) -> auto& { return r.quant.split_qkv_grad; },
        "Separate dL/dY scales for the q, k and v blocks of GPT-2's fused qkv"));
    f.push_back(field(
        "quant.overrides",
        [](auto& r) -> auto& { return r.quant.overrides; },
        "Per-layer entries {layers: GLOB, weight: {bits: 8}, ...}; unset keys take defaults"));
}

}  // namespace detail

std::span<const QuantTensorSpec> quant_tensors() {
    static const std::vector<QuantTensorSpec> kTensors = {
        {"weight", &QuantSpec::weight, &QuantOverride::weight},
        {"activation", &QuantSpec::activation, &QuantOverride::activation},
        {"grad_output", &QuantSpec::grad_output, &QuantOverride::grad_output},
        {"optim_m", &QuantSpec::optim_m, &QuantOverride::optim_m},
        {"optim_v", &QuantSpec::optim_v, &QuantOverride::optim_v},
    };
    return kTensors;
}

const QuantTensorSpec* find_quant_tensor(std::string_view name) {
    for (const QuantTensorSpec& t : quant_tensors()) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

std::vector<std::pair<std::string, FieldValue>> quantizer_values(const QuantTensorSpec& tensor,
                                                                 const QuantizerSpec& spec) {
    Recipe scratch;
    scratch.quant.*tensor.member = spec;
    const std::string prefix = "quant." + tensor.name + ".";
    std::vector<std::pair<std::string, FieldValue>> values;
    for (const FieldSpec& field : recipe_fields()) {
        if (field.path.starts_with(prefix)) {
            values.emplace_back(field.path.substr(prefix.size()), field.get(scratch));
        }
    }
    return values;
}

namespace detail {

void check_quant(const Recipe& r, std::vector<RecipeProblem>& problems) {
    const Fail fail = [&](std::string key, std::string other, std::string message) {
        problems.push_back({std::move(key), std::move(other), std::move(message), false});
    };
    for (const QuantTensorSpec& t : quant_tensors()) {
        check_entry(r, t.name, r.quant.*t.member, "quant." + t.name, "", fail);
    }
    const std::vector<std::string> roles = quant_roles(r.model.family);
    std::set<std::string> seen;
    for (const std::string& entry : r.quant.scope) {
        if (std::find(roles.begin(), roles.end(), entry) == roles.end()) {
            const std::string nearest = nearest_word(entry, roles);
            fail("quant.scope",
                 "",
                 "'" + entry + "' is not a linear of a " + to_string(r.model.family) + " model" +
                     (nearest.empty() ? "" : "; did you mean '" + nearest + "'?") +
                     " (expected some of: " + join(roles) + ")");
        } else if (!seen.insert(entry).second) {
            fail("quant.scope", "", "'" + entry + "' is listed twice (expected each role once)");
        }
    }
    if (r.quant.split_qkv_grad && r.model.family != ModelFamily::kGpt2) {
        fail("quant.split_qkv_grad",
             "model.family",
             "applies to GPT-2's fused qkv only (expected false for model.family: llama, whose "
             "q, k and v are separate linears)");
    }
    for (std::size_t i = 0; i < r.quant.overrides.size(); ++i) {
        const QuantOverride& o = r.quant.overrides[i];
        const std::string prefix = "quant.overrides[" + std::to_string(i) + "]";
        for (const QuantTensorSpec& t : quant_tensors()) {
            if (const auto& spec = o.*t.override_member) {
                check_entry(r, t.name, *spec, prefix + "." + t.name, "quant.overrides", fail);
            }
        }
    }
}

}  // namespace detail
}  // namespace lowbit::config
