// QuantizedLinearFunction: forward and the four backward modes (see quantized_linear.h).
#include "lowbit/quant/quantized_linear.h"

#include "lowbit/quant/fake_quantize.h"

#include <ATen/autocast_mode.h>

#include <bit>
#include <vector>

namespace lowbit::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The call travels from forward to backward in ctx->saved_data, which holds IValues only: each
// quantizer becomes a fixed run of integers (float r_min and uint64 seed bit-cast, so exact).
constexpr std::size_t kParamsWords = 9;

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
    return p;
}

std::vector<int64_t> encode(const QuantizedLinearCall& call) {
    std::vector<int64_t> words;
    encode(call.weight, words);
    encode(call.activation, words);
    encode(call.grad_output, words);
    words.push_back(static_cast<int64_t>(call.backward));
    words.push_back(call.grad_output_blocks);
    return words;
}

QuantizedLinearCall decode_call(const std::vector<int64_t>& words) {
    QuantizedLinearCall call;
    call.weight = decode(words, 0);
    call.activation = decode(words, kParamsWords);
    call.grad_output = decode(words, 2 * kParamsWords);
    call.backward = static_cast<config::BackwardMode>(words.at(3 * kParamsWords));
    call.grad_output_blocks = static_cast<int>(words.at(3 * kParamsWords + 1));
    return call;
}

torch::Tensor maybe_quantize(const torch::Tensor& t,
                             const std::optional<kernels::FakeQuantParams>& params) {
    return params ? fake_quantize(t, *params) : t;
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
    return call;
}

QuantizerInput activation_quantizer_input(const torch::Tensor& x2d,
                                          const QuantizedLinearCall& call) {
    return {x2d, call.activation};
}

QuantizerInput grad_output_quantizer_input(const torch::Tensor& g,
                                           const std::optional<kernels::FakeQuantParams>& params,
                                           int blocks) {
    if (blocks <= 1 || !params) {
        return {g, params};
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
    } else {
        // Rows (and row groups) of width elements never straddle a block boundary.
        in.x = g.reshape({-1, width});
    }
    return in;
}

torch::Tensor quantize_grad_output(const torch::Tensor& g,
                                   const kernels::FakeQuantParams& params,
                                   int blocks) {
    const QuantizerInput in = grad_output_quantizer_input(g, params, blocks);
    const torch::Tensor q = fake_quantize(in.x.contiguous(), *in.params);
    if (blocks <= 1) {
        return q;
    }
    if (params.granularity == kernels::Granularity::kPerTensor) {
        const int64_t width = g.size(1) / blocks;
        return q.reshape({blocks, -1, width}).transpose(0, 1).reshape(g.sizes());
    }
    return q.reshape(g.sizes());
}

torch::Tensor QuantizedLinearFunction::forward(AutogradContext* ctx,
                                               const torch::Tensor& x2d,
                                               const torch::Tensor& weight,
                                               const torch::Tensor& bias,
                                               const QuantizedLinearCall& call) {
    TORCH_CHECK(x2d.dim() == 2 && weight.dim() == 2 && x2d.size(1) == weight.size(1),
                "quantized linear: x ",
                x2d.sizes(),
                " and weight ",
                weight.sizes(),
                " do not make (N, in) x (out, in)");
    const at::ScalarType dtype = compute_dtype(x2d, weight);
    const torch::Tensor xq = maybe_quantize(x2d, call.activation).to(dtype);  // (N, in)
    const torch::Tensor wq = maybe_quantize(weight, call.weight).to(dtype);   // (out, in)
    const bool has_bias = bias.numel() > 0;
    const torch::Tensor b = has_bias ? bias.to(dtype) : torch::Tensor();  // (out)
    // Save the unquantized operands: the backward modes use X and W themselves, and ste
    // recomputes Q_A(X), Q_W(W) from them (docs/quantized-pretraining.md §Backward modes).
    ctx->save_for_backward({x2d, weight});
    ctx->saved_data["call"] = encode(call);
    ctx->saved_data["dtype"] = static_cast<int64_t>(dtype);
    ctx->saved_data["bias_dtype"] = static_cast<int64_t>(bias.scalar_type());
    ctx->saved_data["has_bias"] = has_bias;
    return torch::nn::functional::linear(xq, wq, b);  // (N, out)
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
        call.grad_output ? quantize_grad_output(g, *call.grad_output, call.grad_output_blocks) : g;

    const bool ste = call.backward == config::BackwardMode::kSte;
    const bool g_in_dx = call.backward != config::BackwardMode::kPaper;
    const bool g_in_dw = call.backward != config::BackwardMode::kSwitchback;
    torch::Tensor dx;
    torch::Tensor dw;
    torch::Tensor db;
    if (ctx->needs_input_grad(0)) {
        const torch::Tensor w_op = ste ? maybe_quantize(w, call.weight) : w;
        dx = (g_in_dx ? gq : g).mm(w_op.to(dtype)).to(x.scalar_type());  // (N, in)
    }
    if (ctx->needs_input_grad(1)) {
        const torch::Tensor x_op = ste ? maybe_quantize(x, call.activation) : x;
        dw = (g_in_dw ? gq : g).t().mm(x_op.to(dtype)).to(w.scalar_type());  // (out, in)
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) {
        // At least float32 (bf16 gradients are summed in fp32), more if G has more.
        const at::ScalarType sum_dtype =
            at::promote_types(grad_outputs[0].scalar_type(), torch::kFloat);
        db = grad_outputs[0].to(sum_dtype).sum(0).to(bias_dtype);  // (out)
    }
    return {dx, dw, db, torch::Tensor()};
}

torch::Tensor quantized_linear(const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias,
                               const QuantizedLinearCall& call) {
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
    const torch::Tensor y = QuantizedLinearFunction::apply(x.reshape({-1, in}), weight, b, call);
    return y.view(out_shape);
}

}  // namespace lowbit::quant
