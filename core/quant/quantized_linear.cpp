// QuantizedLinearFunction: forward and the four backward modes (see quantized_linear.h).
#include "lowbit/quant/quantized_linear.h"

#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/int8_gemm.h"

#include <ATen/autocast_mode.h>

#include <bit>
#include <vector>

namespace lowbit::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The call travels from forward to backward in ctx->saved_data, which holds IValues only: each
// quantizer becomes a fixed run of integers (float r_min and uint64 seed bit-cast, so exact).
// forward_gemm stays behind: the backward does not depend on it.
constexpr std::size_t kParamsWords = 10;

void encode(const std::optional<kernels::FakeQuantParams>& p, std::vector<int64_t>& words) {
    if (!p) {
        words.insert(words.end(), kParamsWords, 0);
        return;
    }
    words.push_back(1);
    words.push_back(p->bits);
    words.push_back(p->symmetric ? 1 : 0);
    words.push_back(static_cast<int64_t>(p->grid));
    words.push_back(static_cast<int64_t>(p->granularity));
    words.push_back(p->group_size);
    words.push_back(static_cast<int64_t>(p->rounding));
    words.push_back(std::bit_cast<int32_t>(p->min_range));
    words.push_back(std::bit_cast<int64_t>(p->seed));
    words.push_back(p->is_signed ? 1 : 0);
}

std::optional<kernels::FakeQuantParams> decode(const std::vector<int64_t>& words, size_t at) {
    if (words.at(at) == 0) {
        return std::nullopt;
    }
    kernels::FakeQuantParams p;
    p.bits = static_cast<int>(words.at(at + 1));
    p.symmetric = words.at(at + 2) != 0;
    p.grid = static_cast<kernels::QuantGrid>(words.at(at + 3));
    p.granularity = static_cast<kernels::Granularity>(words.at(at + 4));
    p.group_size = words.at(at + 5);
    p.rounding = static_cast<kernels::Rounding>(words.at(at + 6));
    p.min_range = std::bit_cast<float>(static_cast<int32_t>(words.at(at + 7)));
    p.seed = std::bit_cast<std::uint64_t>(words.at(at + 8));
    p.is_signed = words.at(at + 9) != 0;
    return p;
}

std::vector<int64_t> encode(const QuantizedLinearCall& call) {
    std::vector<int64_t> words;
    encode(call.weight, words);
    encode(call.activation, words);
    encode(call.grad_output, words);
    words.push_back(static_cast<int64_t>(call.backward));
    words.push_back(call.grad_output_blocks);
    words.push_back(static_cast<int64_t>(call.arithmetic));
    words.push_back(call.positions);
    return words;
}

QuantizedLinearCall decode_call(const std::vector<int64_t>& words) {
    QuantizedLinearCall call;
    call.weight = decode(words, 0);
    call.activation = decode(words, kParamsWords);
    call.grad_output = decode(words, 2 * kParamsWords);
    call.backward = static_cast<config::BackwardMode>(words.at(3 * kParamsWords));
    call.grad_output_blocks = static_cast<int>(words.at(3 * kParamsWords + 1));
    call.arithmetic = static_cast<config::QuantArithmetic>(words.at(3 * kParamsWords + 2));
    call.positions = words.at(3 * kParamsWords + 3);
    return call;
}

// Q(t) of an operand (W, or X / G flattened to (N, C)), or t itself when not quantized.
torch::Tensor maybe_quantize(const torch::Tensor& t,
                             const std::optional<kernels::FakeQuantParams>& params,
                             const QuantizedLinearCall& call) {
    return params ? quantize_operand(t, *params, call.arithmetic, call.positions) : t;
}

// The GEMM dtype: the autocast dtype when autocast is on for x's device (what F.linear would
// use), else the promoted dtype of the operands.
at::ScalarType compute_dtype(const torch::Tensor& x, const torch::Tensor& weight) {
    const c10::DeviceType device = x.device().type();
    if (at::autocast::is_autocast_enabled(device)) {
        return at::autocast::get_autocast_dtype(device);
    }
    return at::promote_types(x.scalar_type(), weight.scalar_type());
}

// Whether params' groups are sequence positions (the (T, B·C) kernel view).
bool positions_first(const kernels::FakeQuantParams& params) {
    return kernels::is_valid(params.granularity) &&
           kernels::granularity_traits(params.granularity).view ==
               kernels::KernelView::kPositionsFirst;
}

}  // namespace

QuantizedLinearCall quantized_linear_call(const LayerQuantizers& layer,
                                          std::int64_t step,
                                          std::int64_t micro_batch) {
    QuantizedLinearCall call;
    call.weight = layer.params_at(TensorKind::kWeight, step, micro_batch);
    call.activation = layer.params_at(TensorKind::kActivation, step, micro_batch);
    call.grad_output = layer.params_at(TensorKind::kGradOutput, step, micro_batch);
    call.backward = layer.backward;
    call.grad_output_blocks = layer.grad_output_blocks;
    call.arithmetic = layer.arithmetic;
    call.forward_gemm = layer.forward_gemm;
    return call;
}

namespace {

// The (B, T, C) view of a flattened (N, C) operand whose quantizer lays its groups on sequence
// positions (docs/quantized-pretraining.md §Per-position scales); t itself otherwise.
torch::Tensor positions_view(const torch::Tensor& t,
                             const kernels::FakeQuantParams& params,
                             std::int64_t positions) {
    if (!positions_first(params)) {
        return t;
    }
    TORCH_CHECK(t.dim() == 2 && positions > 0 && t.size(0) % positions == 0,
                "per_position quantization of a ",
                t.sizes(),
                " operand needs its sequence length (got T = ",
                positions,
                "; the input of the linear must be (B, T, C))");
    return t.view({t.size(0) / positions, positions, t.size(1)});
}

}  // namespace

torch::Tensor quantize_operand(const torch::Tensor& t,
                               const kernels::FakeQuantParams& params,
                               config::QuantArithmetic arithmetic,
                               std::int64_t positions) {
    const torch::Tensor view = positions_view(t, params, positions);
    const torch::Tensor q = arithmetic == config::QuantArithmetic::kInput
                                ? fake_quantize_in_dtype(view, params)
                                : fake_quantize(view, params);
    return q.view(t.sizes());
}

QuantizerInput operand_quantizer_input(const torch::Tensor& t,
                                       const std::optional<kernels::FakeQuantParams>& params,
                                       std::int64_t positions) {
    if (!params || !positions_first(*params)) {
        return {t, params};
    }
    return {kernel_view(positions_view(t, *params, positions), *params), params};
}

QuantizerInput activation_quantizer_input(const torch::Tensor& x2d,
                                          const QuantizedLinearCall& call) {
    return operand_quantizer_input(x2d, call.activation, call.positions);
}

QuantizerInput grad_output_quantizer_input(const torch::Tensor& g,
                                           const std::optional<kernels::FakeQuantParams>& params,
                                           int blocks,
                                           std::int64_t positions) {
    if (blocks <= 1 || !params) {
        return operand_quantizer_input(g, params, positions);
    }
    TORCH_CHECK(g.dim() == 2 && g.size(1) % blocks == 0,
                "quantize_grad_output: G ",
                g.sizes(),
                " does not split into ",
                blocks,
                " equal column blocks");
    const int64_t width = g.size(1) / blocks;
    QuantizerInput in{torch::Tensor(), params};
    if (params->granularity == kernels::Granularity::kPerTensor) {
        // (N, blocks, width) -> (blocks, N·width): each block's elements in one row, one scale
        // per row.
        in.x = g.reshape({-1, blocks, width}).transpose(0, 1).reshape({blocks, -1});
        in.params->granularity = kernels::Granularity::kPerToken;
    } else if (positions_first(*params)) {
        // (B, T, blocks, width) -> (blocks·T, B·width): one row per block and position, the
        // rows the per_position scales are laid on.
        TORCH_CHECK(positions > 0 && g.size(0) % positions == 0,
                    "per_position quantization of G ",
                    g.sizes(),
                    " needs its sequence length (got T = ",
                    positions,
                    ")");
        in.x = g.reshape({-1, positions, blocks, width})
                   .permute({2, 1, 0, 3})
                   .reshape({blocks * positions, -1});
    } else {
        // Rows (and row groups) of width elements never straddle a block boundary.
        in.x = g.reshape({-1, width});
    }
    return in;
}

torch::Tensor quantize_grad_output(const torch::Tensor& g,
                                   const kernels::FakeQuantParams& params,
                                   int blocks,
                                   config::QuantArithmetic arithmetic,
                                   std::int64_t positions) {
    if (blocks <= 1) {
        return quantize_operand(g, params, arithmetic, positions);
    }
    const QuantizerInput in = grad_output_quantizer_input(g, params, blocks, positions);
    // The view is already the kernels' 2-D layout: its rows are the scale groups.
    kernels::FakeQuantParams rows = *in.params;
    if (positions_first(rows)) {
        rows.granularity = kernels::Granularity::kPerToken;
    }
    const torch::Tensor view = in.x.contiguous();
    const torch::Tensor q = arithmetic == config::QuantArithmetic::kInput
                                ? fake_quantize_in_dtype(view, rows)
                                : fake_quantize(view, rows);
    const int64_t width = g.size(1) / blocks;
    if (params.granularity == kernels::Granularity::kPerTensor) {
        return q.reshape({blocks, -1, width}).transpose(0, 1).reshape(g.sizes());
    }
    if (positions_first(params)) {
        return q.reshape({blocks, positions, -1, width}).permute({2, 1, 0, 3}).reshape(g.sizes());
    }
    return q.reshape(g.sizes());
}

torch::Tensor QuantizedLinearFunction::forward(AutogradContext* ctx,
                                               const torch::Tensor& x2d,
                                               const torch::Tensor& weight,
                                               const torch::Tensor& bias,
                                               const torch::Tensor& weight_q,
                                               const torch::Tensor& weight_q_scales,
                                               const QuantizedLinearCall& call) {
    TORCH_CHECK(x2d.dim() == 2 && weight.dim() == 2 && x2d.size(1) == weight.size(1),
                "quantized linear: x ",
                x2d.sizes(),
                " and weight ",
                weight.sizes(),
                " do not make (N, in) x (out, in)");
    const at::ScalarType dtype = compute_dtype(x2d, weight);
    const bool have_wq = weight_q.numel() > 0;
    const bool has_bias = bias.numel() > 0;
    const bool int8 = call.forward_gemm == config::ForwardGemm::kInt8;
    torch::Tensor y;  // (N, out)
    if (int8) {
        TORCH_CHECK(call.weight && call.activation &&
                        int8_operand_problem(*call.weight, true).empty() &&
                        int8_operand_problem(*call.activation, false).empty(),
                    "quantized linear: the int8 forward GEMM needs symmetric signed W and A "
                    "quantizers with scales per tensor or per row");
        const Int8Operand w_codes =
            have_wq ? Int8Operand{weight_q, weight_q_scales} : int8_operand(weight, *call.weight);
        y = int8_linear(int8_operand(x2d, *call.activation),
                        w_codes,
                        has_bias ? bias : torch::Tensor())  // float32
                .to(dtype);
    } else {
        const torch::Tensor xq = maybe_quantize(x2d, call.activation, call).to(dtype);  // (N, in)
        const torch::Tensor wq_full =
            have_wq ? weight_q : maybe_quantize(weight, call.weight, call);   // (out, in)
        const torch::Tensor b = has_bias ? bias.to(dtype) : torch::Tensor();  // (out)
        y = torch::nn::functional::linear(xq, wq_full.to(dtype), b);
    }
    // Save the unquantized operands: the backward modes use X and W themselves, and ste
    // recomputes Q_A(X) from X and takes the caller's Q_W(W) or recomputes it from W
    // (docs/quantized-pretraining.md §Backward modes); int8 codes are not Q_W(W) itself.
    const bool ste = call.backward == config::BackwardMode::kSte;
    ctx->save_for_backward({x2d, weight, ste && have_wq && !int8 ? weight_q : torch::empty({0})});
    ctx->saved_data["call"] = encode(call);
    ctx->saved_data["dtype"] = static_cast<int64_t>(dtype);
    ctx->saved_data["bias_dtype"] = static_cast<int64_t>(bias.scalar_type());
    ctx->saved_data["has_bias"] = has_bias;
    return y;
}

variable_list QuantizedLinearFunction::backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];  // (N, in), unquantized
    const torch::Tensor& w = saved[1];  // (out, in), unquantized
    const QuantizedLinearCall call = decode_call(ctx->saved_data["call"].toIntVector());
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    const auto bias_dtype = static_cast<at::ScalarType>(ctx->saved_data["bias_dtype"].toInt());
    const torch::Tensor g = grad_outputs[0].to(dtype);  // (N, out)
    const torch::Tensor gq =
        call.grad_output
            ? quantize_grad_output(
                  g, *call.grad_output, call.grad_output_blocks, call.arithmetic, call.positions)
            : g;

    const bool ste = call.backward == config::BackwardMode::kSte;
    const bool g_in_dx = call.backward != config::BackwardMode::kPaper;
    const bool g_in_dw = call.backward != config::BackwardMode::kSwitchback;
    torch::Tensor dx;
    torch::Tensor dw;
    torch::Tensor db;
    if (ctx->needs_input_grad(0)) {
        const torch::Tensor& saved_wq = saved[2];  // (out, in), or (0) when not kept
        const torch::Tensor w_op =
            !ste ? w : (saved_wq.numel() > 0 ? saved_wq : maybe_quantize(w, call.weight, call));
        dx = (g_in_dx ? gq : g).mm(w_op.to(dtype)).to(x.scalar_type());  // (N, in)
    }
    if (ctx->needs_input_grad(1)) {
        const torch::Tensor x_op = ste ? maybe_quantize(x, call.activation, call) : x;
        dw = (g_in_dw ? gq : g).t().mm(x_op.to(dtype)).to(w.scalar_type());  // (out, in)
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) {
        // At least float32 (bf16 gradients are summed in fp32), more if G has more.
        const at::ScalarType sum_dtype =
            at::promote_types(grad_outputs[0].scalar_type(), torch::kFloat);
        db = grad_outputs[0].to(sum_dtype).sum(0).to(bias_dtype);  // (out)
    }
    return {dx, dw, db, torch::Tensor(), torch::Tensor(), torch::Tensor()};
}

torch::Tensor quantized_linear(const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias,
                               const QuantizedLinearCall& call,
                               WeightQuantCache* weight_cache) {
    const int64_t in = weight.size(1);
    TORCH_CHECK(x.dim() >= 1 && x.size(-1) == in,
                "quantized linear: input ",
                x.sizes(),
                " does not end in in_features=",
                in);
    std::vector<int64_t> out_shape(x.sizes().begin(), x.sizes().end());
    out_shape.back() = weight.size(0);
    // A custom Function's tensor inputs must be defined: no bias travels as an empty tensor.
    const torch::Tensor b = bias.defined() ? bias : torch::empty({0}, weight.options());
    QuantizedLinearCall with_positions = call;
    if (x.dim() == 3) {
        with_positions.positions = x.size(1);  // (B, T, in): T for per_position quantizers
    }
    // Q_W(W) (or its int8 codes and scales) from the layer's cache when it keeps one; (0) =
    // quantize in the forward.
    const bool cached =
        weight_cache != nullptr && call.weight && WeightQuantCache::cacheable(*call.weight);
    const torch::Tensor none = torch::empty({0}, weight.options().requires_grad(false));
    torch::Tensor weight_q = none;
    torch::Tensor weight_q_scales = none;
    if (cached && call.forward_gemm == config::ForwardGemm::kInt8) {
        const Int8Operand codes = weight_cache->get_int8(weight, *call.weight);
        weight_q = codes.codes;
        weight_q_scales = codes.scales;
    } else if (cached) {
        weight_q = weight_cache->get(weight, *call.weight, call.arithmetic);
    }
    const torch::Tensor y = QuantizedLinearFunction::apply(
        x.reshape({-1, in}), weight, b, weight_q, weight_q_scales, with_positions);
    return y.view(out_shape);
}

}  // namespace lowbit::quant
