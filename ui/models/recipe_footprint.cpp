#include "models/recipe_footprint.h"

#include "lowbit/kernels/quant_format.h"

#include <algorithm>
#include <string>
#include <vector>

namespace lowbit::ui {

namespace {

// One linear layer of the model: W is (out, in); `role` is the name quant.scope uses.
struct LinearShape {
    std::string role;
    int64_t in = 0;
    int64_t out = 0;
    bool bias = false;
};

// Values per scale group of an (out, in) tensor under `spec` (docs/quantized-pretraining.md
// §Granularities): the whole tensor, one row, or group_size consecutive values.
int64_t group_length(const config::QuantizerSpec& spec, const LinearShape& linear) {
    const auto& traits = kernels::kGranularityTraits[static_cast<int>(spec.granularity)];
    switch (traits.groups) {
        case kernels::ScaleGroups::kWhole:
            return linear.in * linear.out;
        case kernels::ScaleGroups::kRows:
            return linear.in;
        default:
            return spec.group_size;
    }
}

// Bytes of the (out, in) tensor stored under `spec`: codes and scales when quantized, else fp32.
int64_t stored_bytes(const config::QuantizerSpec& spec, const LinearShape& linear) {
    const int64_t n = linear.in * linear.out;
    if (!spec.enabled()) {
        return n * static_cast<int64_t>(sizeof(float));
    }
    return kernels::stored_state_bytes(n, group_length(spec, linear), spec.bits, spec.symmetric);
}

// The linears of one transformer block (core/model's shapes).
std::vector<LinearShape> block_linears(const config::ModelSpec& m) {
    const int64_t d = m.d_model;
    const int64_t ff = config::effective_d_ff(m);
    if (m.family == config::ModelFamily::kGpt2) {
        return {{"qkv", d, 3 * d, true},
                {"attn_out", d, d, true},
                {"fc1", d, ff, true},
                {"fc2", ff, d, true}};
    }
    return {{"q", d, d, false},
            {"k", d, d, false},
            {"v", d, d, false},
            {"o", d, d, false},
            {"gate", d, ff, false},
            {"up", d, ff, false},
            {"down", ff, d, false}};
}

int64_t words_of(int64_t values, int bits) {
    return (values * bits + 31) / 32;
}

}  // namespace

PackedFootprint packed_footprint(const config::Recipe& source, int bits, int group_size) {
    PackedFootprint out;
    for (const LinearShape& l : block_linears(source.model)) {
        if (group_size <= 0 || l.in % group_size != 0) {
            out.misfit = l.role + " has " + std::to_string(l.in) + " inputs, not a multiple of " +
                         std::to_string(group_size);
            return out;
        }
        const int64_t groups = l.in / group_size;
        // qweight packs along the inputs, qzeros along the outputs, in 32-bit words; fp16
        // steps; one int32 group index per input (docs/efficientqat.md §Packed layout).
        const int64_t bytes = 4 * (words_of(l.in, bits) * l.out + groups * words_of(l.out, bits)) +
                              2 * groups * l.out + 4 * l.in;
        out.weights += source.model.layers * l.in * l.out;
        out.packed_bytes += source.model.layers * bytes;
    }
    out.fp32_bytes = out.weights * static_cast<int64_t>(sizeof(float));
    out.bits_per_weight = out.weights > 0 ? 8.0 * static_cast<double>(out.packed_bytes) /
                                                static_cast<double>(out.weights)
                                          : 0.0;
    return out;
}

RecipeFootprint recipe_footprint(const config::Recipe& recipe) {
    const config::ModelSpec& m = recipe.model;
    const bool gpt2 = m.family == config::ModelFamily::kGpt2;
    const int64_t d = m.d_model;
    RecipeFootprint out;
    out.vocab = m.vocab_size > 0                                        ? m.vocab_size
                : recipe.data.tokenizer == config::TokenizerKind::kByte ? 256
                                                                        : recipe.data.vocab_size;
    // Per block: the linears, then the norms' parameters (LayerNorm: weight and bias; RMSNorm:
    // weight only), two norms per block.
    const std::vector<LinearShape> block = block_linears(m);
    const int64_t norm = gpt2 ? 2 * d : d;
    std::vector<LinearShape> linears;
    for (int layer = 0; layer < m.layers; ++layer) {
        linears.insert(linears.end(), block.begin(), block.end());
    }
    if (!m.tie_embeddings) {
        linears.push_back({"lm_head", d, out.vocab, false});
    }
    // Embeddings (and GPT-2's learned positions), 2 norms per block, the final norm, biases.
    int64_t other = out.vocab * d + (gpt2 ? m.context * d : 0) + norm * (2 * m.layers + 1);
    for (const LinearShape& l : linears) {
        other += l.bias ? l.out : 0;
    }

    const config::QuantSpec& q = recipe.quant;
    const auto in_scope = [&q](const std::string& role) {
        return q.scope.empty() || std::find(q.scope.begin(), q.scope.end(), role) != q.scope.end();
    };
    const int64_t fp32 = sizeof(float);
    out.weight_bytes_quantized = other * fp32;
    out.optimizer_bytes_quantized = 2 * other * fp32;
    int64_t linear_values = 0;
    for (const LinearShape& l : linears) {
        const int64_t n = l.in * l.out;
        linear_values += n;
        if (in_scope(l.role)) {
            out.weight_bytes_quantized += stored_bytes(q.weight, l);
            out.optimizer_bytes_quantized +=
                stored_bytes(q.optim_m, l) + stored_bytes(q.optim_v, l);
        } else {
            out.weight_bytes_quantized += n * fp32;
            out.optimizer_bytes_quantized += 2 * n * fp32;
        }
    }
    out.parameters = other + linear_values;
    out.weight_bytes_fp32 = out.parameters * fp32;
    out.optimizer_bytes_fp32 = 2 * out.weight_bytes_fp32;
    out.tokens_per_step =
        static_cast<int64_t>(recipe.train.batch_size) * recipe.train.grad_accum * m.context;
    return out;
}

}  // namespace lowbit::ui
