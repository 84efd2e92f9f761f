// LayerQuantizers: per-call parameters, seed derivation and descriptions.
#include "lowbit/quant/layer_quantizers.h"

#include "lowbit/kernels/counter_hash.h"

#include <sstream>

namespace lowbit::quant {

const char* to_string(TensorKind kind) {
    switch (kind) {
        case TensorKind::kWeight:
            return "weight";
        case TensorKind::kActivation:
            return "activation";
        case TensorKind::kGradOutput:
            return "grad_output";
        case TensorKind::kOptimM:
            return "optim_m";
        case TensorKind::kOptimV:
            return "optim_v";
    }
    return "?";
}

std::uint64_t stochastic_rounding_seed(std::uint64_t recipe_seed,
                                       std::int64_t layer_index,
                                       TensorKind kind,
                                       std::int64_t step,
                                       std::int64_t micro_batch) {
    // Chain the splitmix64 finaliser over the fields; each step feeds the previous hash, so two
    // different tuples collide only by chance (2^-64), unlike a sum or xor of the fields.
    using kernels::counter_hash_mix64;
    std::uint64_t h = counter_hash_mix64(recipe_seed ^ 0x6C6F776269742D71ULL);  // "lowbit-q"
    h = counter_hash_mix64(h ^ static_cast<std::uint64_t>(layer_index));
    h = counter_hash_mix64(h ^ static_cast<std::uint64_t>(kind));
    h = counter_hash_mix64(h ^ static_cast<std::uint64_t>(step));
    return counter_hash_mix64(h ^ static_cast<std::uint64_t>(micro_batch));
}

const std::optional<kernels::FakeQuantParams>& LayerQuantizers::params(TensorKind kind) const {
    switch (kind) {
        case TensorKind::kWeight:
            return weight;
        case TensorKind::kActivation:
            return activation;
        case TensorKind::kGradOutput:
            return grad_output;
        case TensorKind::kOptimM:
            return optim_m;
        case TensorKind::kOptimV:
            break;
    }
    return optim_v;
}

std::optional<kernels::FakeQuantParams> LayerQuantizers::params_at(TensorKind kind,
                                                                   std::int64_t step,
                                                                   std::int64_t micro_batch) const {
    std::optional<kernels::FakeQuantParams> p = params(kind);
    if (p && p->rounding == kernels::Rounding::kStochastic) {
        p->seed = stochastic_rounding_seed(recipe_seed, layer_index, kind, step, micro_batch);
    }
    return p;
}

std::string describe(const kernels::FakeQuantParams& params) {
    std::ostringstream text;
    text << params.bits << "-bit ";
    if (!kernels::is_valid(params.granularity)) {  // a value read from a file may be anything
        text << "unknown-granularity " << static_cast<int>(params.granularity);
        return text.str();
    }
    // By the layout of the groups (quant_format.h): per_channel and per_token are both rows.
    switch (kernels::granularity_traits(params.granularity).groups) {
        case kernels::ScaleGroups::kWhole:
            text << "per-tensor";
            break;
        case kernels::ScaleGroups::kRows:
            text << (kernels::granularity_traits(params.granularity).view ==
                             kernels::KernelView::kPositionsFirst
                         ? "per-position"
                         : "per-row");
            break;
        case kernels::ScaleGroups::kRowGroups:
            text << "per-group(" << params.group_size << ")";
            break;
        case kernels::ScaleGroups::kFlatBlocks:
            text << "per-block(" << params.group_size << ")";
            break;
    }
    text << (params.symmetric ? " symmetric" : " asymmetric")
         << (params.grid == kernels::QuantGrid::kFull ? " full-grid" : "")
         << (params.is_signed ? "" : " unsigned")
         << (params.rounding == kernels::Rounding::kStochastic ? " stochastic" : " nearest");
    return text.str();
}

std::string describe(const LayerQuantizers& q) {
    std::ostringstream text;
    const char* letters[] = {"W", "A", "G", "m", "v"};
    bool first = true;
    for (TensorKind kind : kTensorKinds) {
        if (const auto& p = q.params(kind)) {
            text << (first ? "" : ", ") << letters[static_cast<int>(kind)] << ": " << describe(*p);
            if (kind == TensorKind::kGradOutput && q.grad_output_blocks > 1) {
                text << " x" << q.grad_output_blocks << " blocks";
            }
            first = false;
        }
    }
    if (first) {
        return "full precision";
    }
    if (q.quantizes_linear()) {
        text << ", backward " << config::to_string(q.backward);
        if (q.forward_gemm == config::ForwardGemm::kInt8) {
            text << ", int8 forward GEMM";
        }
    }
    return text.str();
}

}  // namespace lowbit::quant
