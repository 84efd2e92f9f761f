// The quant: rows of the schema table (one block of keys per tensor type, scope, backward,
// split_qkv_grad, overrides) and the quant rules that span several keys: granularity per tensor
// type (the allowed uses of the kernels' format table), group sizes that must divide the layer
// widths, scope roles per model family, what the int8 forward GEMM needs of W and A.
#include "lowbit/config/quant_layers.h"
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
                {"qkv", d, 3 * d, dk, "3*model.d_model"},
                {"o", d, d, dk, dk},
                {"gate", d, ff, dk, fk},
                {"up", d, ff, dk, fk},
                {"gate_up", d, 2 * ff, dk, "2*the effective model.d_ff"},
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

// The roles of the scoped linears whose path matches `pattern` (all scoped roles for "*").
std::set<std::string> scoped_roles(const Recipe& r, const std::string& pattern) {
    const std::vector<std::string>& scope = r.quant.scope;
    std::set<std::string> roles;
    for (const QuantLayer& layer : quant_layers(r.model)) {
        const bool in_scope =
            scope.empty() || std::find(scope.begin(), scope.end(), layer.role) != scope.end();
        if (in_scope && layer_pattern_matches(pattern, layer.path)) {
            roles.insert(layer.role);
        }
    }
    return roles;
}

// Which column of the format table's allowed uses a tensor type reads: W, A and G (one rule, the
// same (B*T, C) rows), or the optimizer states.
enum class TensorUse { kWeight, kActivation, kState };

TensorUse tensor_use(const std::string& tensor) {
    if (tensor == "weight") {
        return TensorUse::kWeight;
    }
    return tensor == "optim_m" || tensor == "optim_v" ? TensorUse::kState : TensorUse::kActivation;
}

bool allowed(const kernels::GranularityTraits& t, TensorUse use) {
    return use == TensorUse::kWeight  ? t.for_weights
           : use == TensorUse::kState ? t.for_states
                                      : t.for_activations;
}

// "weights and optimizer states", "activations and gradients", ...: what a granularity is for.
std::string uses_of(const kernels::GranularityTraits& t) {
    std::vector<std::string> uses;
    if (t.for_weights) {
        uses.emplace_back("weights");
    }
    if (t.for_activations) {
        uses.emplace_back("activations and gradients");
    }
    if (t.for_states) {
        uses.emplace_back(t.for_weights ? "optimizer states" : "optimizer states only");
    }
    std::string text;
    for (std::size_t i = 0; i < uses.size(); ++i) {
        text += (i == 0 ? "" : " and ") + uses[i];
    }
    return text;
}

// "per_tensor, per_channel or per_group": the granularities a tensor type accepts, table order.
std::string allowed_names(TensorUse use) {
    std::vector<std::string> names;
    for (const kernels::GranularityTraits& t : kernels::kGranularityTraits) {
        if (allowed(t, use)) {
            names.emplace_back(t.name);
        }
    }
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) {
        text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    }
    return text;
}

// Rules of one quantizer entry applied to the linears of `roles`; `prefix` is e.g.
// "quant.weight" or "quant.overrides[0].weight".
void check_entry(const Recipe& r,
                 const std::string& tensor,
                 const QuantizerSpec& spec,
                 const std::set<std::string>& roles,
                 const std::string& prefix,
                 const std::string& locate_at,
                 const Fail& fail) {
    const std::string gran = prefix + ".granularity";
    const std::string& other = locate_at;
    const TensorUse use = tensor_use(tensor);
    if (!spec.is_signed && !kernels::grid_allows_unsigned(spec.grid)) {
        fail(prefix + ".signed",
             locate_at.empty() ? prefix + ".grid" : locate_at,
             "false needs grid: reference (grid: full already fixes its codes: unsigned 0..2^b-1 "
             "with a zero point when asymmetric, signed when symmetric) (expected signed: true, "
             "or grid: reference)");
    }
    if (r.quant.arithmetic == QuantArithmetic::kInput && use == TensorUse::kActivation &&
        spec.enabled() && spec.rounding == Rounding::kStochastic) {
        fail(prefix + ".rounding",
             locate_at.empty() ? "quant.arithmetic" : locate_at,
             "stochastic rounding runs in the float32 kernels, but quant.arithmetic: input "
             "quantizes X and G in their own dtype (expected nearest, or quant.arithmetic: "
             "fp32)");
    }
    if (!spec.is_signed && use == TensorUse::kState && spec.enabled()) {
        fail(prefix + ".signed",
             locate_at,
             "false is not available for stored optimizer states, whose codes are stored signed "
             "(expected signed: true)");
    }
    const kernels::GranularityTraits& traits = kernels::granularity_traits(spec.granularity);
    if (!allowed(traits, use)) {
        fail(gran,
             other,
             std::string(traits.name) + " is for " + uses_of(traits) + " (expected " +
                 allowed_names(use) +
                 (use == TensorUse::kActivation
                      ? "; per_token gives one scale per row of the [B*T, C] tensor)"
                      : "; per_channel gives one scale per output row)"));
    }
    // Only groups along the last axis must divide the widths: per_block's flat blocks of a
    // stored state may straddle rows (docs/quantized-pretraining.md §Stored moments).
    if (traits.groups != kernels::ScaleGroups::kRowGroups) {
        return;
    }
    for (const RoleShape& shape : role_shapes(r.model)) {
        if (!roles.contains(shape.role)) {
            continue;
        }
        const bool by_out = tensor == "grad_output";  // G is [B*T, out]: groups along out
        // With split_qkv_grad the q, k and v blocks of qkv's G are quantized one by one.
        const bool split = by_out && shape.role == "qkv" && r.quant.split_qkv_grad;
        const int width = split ? shape.out / 3 : by_out ? shape.out : shape.in;
        if (width > 0 && width % spec.group_size != 0) {
            fail(prefix + ".group_size",
                 locate_at.empty() ? gran : locate_at,
                 std::to_string(spec.group_size) + " does not divide " + std::to_string(width) +
                     ", the " +
                     (split    ? "width of one q/k/v block of qkv (model.d_model, as "
                                 "quant.split_qkv_grad is on)"
                      : by_out ? std::string("output width of ") + shape.role + " (" +
                                     shape.out_key + ")"
                               : std::string("input width of ") + shape.role + " (" + shape.in_key +
                                     ")") +
                     " (expected a group size that divides every quantized layer width)");
            return;
        }
    }
}

// An override whose pattern selects no quantized linear is almost surely a typo ("block.0.*")
// or a block index beyond model.layers: report it rather than silently changing nothing.
void check_override_matches(const Recipe& r, const Fail& fail) {
    const std::vector<QuantLayer> layers = quant_layers(r.model);
    for (std::size_t i = 0; i < r.quant.overrides.size(); ++i) {
        const std::string& pattern = r.quant.overrides[i].layers;
        if (pattern.empty() || !scoped_roles(r, pattern).empty()) {
            continue;  // an empty pattern is reported by the field check
        }
        const bool matches_any = std::any_of(layers.begin(), layers.end(), [&](const auto& l) {
            return layer_pattern_matches(pattern, l.path);
        });
        const std::string key = "quant.overrides[" + std::to_string(i) + "].layers";
        if (matches_any) {
            fail(key,
                 "quant.overrides",
                 "'" + pattern + "' matches only linears outside quant.scope (" +
                     join(r.quant.scope) +
                     "), so it would change nothing (expected a pattern matching a quantized "
                     "layer, or add its role to quant.scope)");
        } else {
            fail(key,
                 "quant.overrides",
                 "'" + pattern + "' matches no linear of this " + to_string(r.model.family) +
                     " model with " + std::to_string(r.model.layers) +
                     " blocks (expected a glob over layer paths such as " + layers.front().path +
                     ", blocks.0.*, *.mlp.*, lm_head)");
        }
    }
}

// The int8 forward GEMM multiplies integer codes and rescales each sum by one scale of X's token
// row and one of W's output row (docs/quantized-pretraining.md §Int8 forward GEMM): every entry of
// W and A must be on, symmetric (zero point 0) and signed (codes in int8), with scales per tensor
// or per row.
void check_int8_forward(const Recipe& r, const Fail& fail) {
    if (r.quant.forward_gemm != ForwardGemm::kInt8) {
        return;
    }
    const std::string why =
        ", but quant.forward_gemm: int8 multiplies the integer codes of W and A";
    const std::string instead = " or quant.forward_gemm: fake_quant)";
    if (r.quant.arithmetic == QuantArithmetic::kInput) {
        fail("quant.arithmetic",
             "quant.forward_gemm",
             "input quantizes X in its own dtype, but quant.forward_gemm: int8 computes the codes "
             "in float32 (expected fp32," +
                 instead);
    }
    // An override's entry is located at quant.overrides (list entries have no position of their
    // own).
    const auto check = [&](const QuantizerSpec& spec,
                           const std::string& prefix,
                           const std::string& locate_at,
                           bool weight) {
        const Granularity row = weight ? Granularity::kPerChannel : Granularity::kPerToken;
        const std::string row_name = to_string(row);
        if (!spec.enabled()) {
            fail(prefix + ".bits",
                 locate_at,
                 std::to_string(spec.bits) + " leaves it in full precision" + why +
                     " (expected 2..8," + instead);
        } else if (!spec.symmetric) {
            fail(prefix + ".symmetric",
                 locate_at,
                 "false gives it a zero point" + why + " (expected true," + instead);
        } else if (!spec.is_signed) {
            fail(prefix + ".signed",
                 locate_at,
                 "false gives it unsigned codes" + why + " as int8 (expected true," + instead);
        } else if (spec.granularity != Granularity::kPerTensor && spec.granularity != row) {
            fail(prefix + ".granularity",
                 locate_at,
                 std::string(to_string(spec.granularity)) + why +
                     " and rescales each output by one scale of each (expected per_tensor or " +
                     row_name + "," + instead);
        }
    };
    check(r.quant.weight, "quant.weight", "quant.forward_gemm", true);
    check(r.quant.activation, "quant.activation", "quant.forward_gemm", false);
    for (std::size_t i = 0; i < r.quant.overrides.size(); ++i) {
        const QuantOverride& o = r.quant.overrides[i];
        const std::string prefix = "quant.overrides[" + std::to_string(i) + "]";
        if (o.weight) {
            check(*o.weight, prefix + ".weight", "quant.overrides", true);
        }
        if (o.activation) {
            check(*o.activation, prefix + ".activation", "quant.overrides", false);
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
            "One scale per tensor, output row (channel), token row, group of group_size or "
            "state block"));
        f.push_back(field(
            p + "group_size",
            [m](auto& r) -> auto& { return (r.quant.*m).group_size; },
            "Elements per group (must divide the layer widths) or per flattened-state block "
            "(per_block)",
            closed(2, 1 << 20)));
        f.push_back(field(
            p + "symmetric",
            [m](auto& r) -> auto& { return (r.quant.*m).symmetric; },
            "Absmax scale with zero point 0; false: min-max scale with an integer zero point"));
        f.push_back(field(
            p + "signed",
            [m](auto& r) -> auto& { return (r.quant.*m).is_signed; },
            "Signed codes [-2^(b-1), 2^(b-1)-1]; false: unsigned [0, 2^b-1] (reference grid)"));
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
        "Roles: qkv attn_out fc1 fc2 (GPT-2); q k v qkv o gate up gate_up down (Llama); lm_head; "
        "[]=all"));
    f.push_back(field(
        "quant.backward",
        [](auto& r) -> auto& { return r.quant.backward; },
        "GEMMs fed Q(dL/dY): paper (dW), switchback (dX), both; ste: both, STE on Q(W), Q(X)"));
    f.push_back(field(
        "quant.split_qkv_grad",
        [](auto& r) -> auto& { return r.quant.split_qkv_grad; },
        "Separate dL/dY scales for the q, k and v blocks of a fused qkv (GPT-2, fused Llama)"));
    f.push_back(field(
        "quant.arithmetic",
        [](auto& r) -> auto& { return r.quant.arithmetic; },
        "Quantizer dtype: fp32, or input (bf16 X and G in bf16 under bf16, as the reference)"));
    f.push_back(field(
        "quant.forward_gemm",
        [](auto& r) -> auto& { return r.quant.forward_gemm; },
        "Forward of quantized linears: fake_quant (float GEMM of Q(X), Q(W)); int8 (int8 codes)"));
    f.push_back(field(
        "quant.optim_v_mapping",
        [](auto& r) -> auto& { return r.quant.optim_v_mapping; },
        "Stored AdamW v: linear (the reference: quantize v) or sqrt (quantize sqrt(v))"));
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
    const std::set<std::string> all_scoped = scoped_roles(r, "*");
    for (const QuantTensorSpec& t : quant_tensors()) {
        check_entry(r, t.name, r.quant.*t.member, all_scoped, "quant." + t.name, "", fail);
    }
    const std::vector<std::string> roles = quant_roles(r.model);
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
    if (r.quant.split_qkv_grad && r.model.family == ModelFamily::kLlama && !r.model.fused_qkv) {
        fail("quant.split_qkv_grad",
             "model.fused_qkv",
             "applies to a fused qkv only (expected false, or model.fused_qkv: true: this Llama's "
             "q, k and v are separate linears)");
    }
    for (std::size_t i = 0; i < r.quant.overrides.size(); ++i) {
        const QuantOverride& o = r.quant.overrides[i];
        const std::string prefix = "quant.overrides[" + std::to_string(i) + "]";
        const std::set<std::string> matched = scoped_roles(r, o.layers);
        for (const QuantTensorSpec& t : quant_tensors()) {
            if (const auto& spec = o.*t.override_member) {
                check_entry(
                    r, t.name, *spec, matched, prefix + "." + t.name, "quant.overrides", fail);
            }
        }
    }
    check_int8_forward(r, fail);
    // Last, so that an entry's own key errors are reported first.
    check_override_matches(r, fail);
}

}  // namespace detail
}  // namespace lowbit::config
