// Int8 forward GEMM: codes from the CPU codes kernel or the fake quantizer, torch::_int_mm,
// per-row rescale (one pass with the bias on the CPU).
#include "lowbit/quant/int8_gemm.h"

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/int8_rescale.h"
#include "lowbit/kernels/status.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/util/kernel_threads.h"

namespace lowbit::quant {
namespace {

int64_t round_up(int64_t n, int64_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

// The (rows, cols) codes zero-padded to multiples of 8 in both sizes and to at least `min_rows`
// rows, the shapes CUDA's int8 GEMM takes.
torch::Tensor padded(const torch::Tensor& codes, int64_t min_rows) {
    const int64_t rows = codes.size(0);
    const int64_t cols = codes.size(1);
    const int64_t pad_rows = std::max(round_up(rows, 8), min_rows) - rows;
    const int64_t pad_cols = round_up(cols, 8) - cols;
    if (pad_rows == 0 && pad_cols == 0) {
        return codes;
    }
    return torch::constant_pad_nd(codes, {0, pad_cols, 0, pad_rows}, 0);
}

}  // namespace

std::string int8_operand_problem(const kernels::FakeQuantParams& params, bool weight) {
    const kernels::Granularity row =
        weight ? kernels::Granularity::kPerChannel : kernels::Granularity::kPerToken;
    if (params.bits < 2 || params.bits > 8) {
        return "needs 2..8 bits";
    }
    if (!params.symmetric) {
        return "needs a symmetric quantizer (zero point 0)";
    }
    if (!params.is_signed) {
        return "needs signed codes";
    }
    if (params.granularity != kernels::Granularity::kPerTensor && params.granularity != row) {
        return std::string("needs scales per tensor or per ") + (weight ? "output row" : "token");
    }
    return {};
}

Int8Operand int8_operand(const torch::Tensor& t, const kernels::FakeQuantParams& params) {
    TORCH_CHECK(t.dim() == 2, "int8_operand: expected a (rows, cols) tensor, got ", t.sizes());
    const torch::Tensor x = t.to(torch::kFloat).contiguous();  // no copy when already so
    if (x.is_cpu()) {
        // Codes and scales in one pass over x where the CPU codes kernel covers the quantizer
        // (symmetric, rows up to 16 Ki values): the codes fake quantization would round to.
        const int64_t groups = kernels::fake_quant_num_groups(params, x.size(0), x.size(1));
        if (groups > 0) {
            torch::Tensor codes = torch::empty(x.sizes(), x.options().dtype(torch::kInt8));
            torch::Tensor scales = torch::empty({groups}, x.options());
            if (kernels::fake_quant_codes_cpu_parallel(x.data_ptr<float>(),
                                                       x.size(0),
                                                       x.size(1),
                                                       params,
                                                       codes.data_ptr<std::int8_t>(),
                                                       scales.data_ptr<float>(),
                                                       nullptr,
                                                       util::kernel_threads()) ==
                kernels::Status::kOk) {
                return {codes, scales};
            }
        }
    }
    FakeQuantScales scales;
    torch::Tensor q = fake_quantize(x, params, &scales);  // (rows, cols)
    // In place on the quantizer's own fresh output: one allocation fewer per call.
    q.div_(scales.scales.view({-1, 1})).round_();  // scales (rows, 1) or (1, 1)
    return {q.to(torch::kInt8), scales.scales};
}

torch::Tensor int8_linear(const Int8Operand& x, const Int8Operand& w, const torch::Tensor& bias) {
    TORCH_CHECK(x.codes.dim() == 2 && w.codes.dim() == 2 && x.codes.size(1) == w.codes.size(1),
                "int8_linear: codes ",
                x.codes.sizes(),
                " and ",
                w.codes.sizes(),
                " do not make (N, in) x (out, in)");
    const int64_t n = x.codes.size(0);
    const int64_t out = w.codes.size(0);
    if (x.codes.is_cuda()) {
        // The tensor-core kernel reads W's codes column-major: the transposed view of a
        // contiguous (out, in) tensor is exactly that.
        const torch::Tensor a = padded(x.codes, 17).contiguous();
        const torch::Tensor b = padded(w.codes, 8).contiguous();
        const torch::Tensor sums = torch::_int_mm(a, b.t()).slice(0, 0, n).slice(1, 0, out);
        // int32 times float32 promotes to float32: the conversion and the first scale in one pass.
        torch::Tensor y = torch::mul(sums, x.scales.view({-1, 1})).mul_(w.scales.view({1, -1}));
        return bias.defined() ? y.add_(bias.to(torch::kFloat)) : y;
    }
    const torch::Tensor sums =
        torch::_int_mm(x.codes.contiguous(), w.codes.contiguous().t()).contiguous();  // (N, out)
    // The conversion, both scales and the bias in one pass over the sums.
    const torch::Tensor x_scales = x.scales.to(torch::kFloat).contiguous();
    const torch::Tensor w_scales = w.scales.to(torch::kFloat).contiguous();
    const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat).contiguous() : bias;
    torch::Tensor y = torch::empty({n, out}, sums.options().dtype(torch::kFloat));
    const kernels::Status status =
        kernels::int8_rescale_cpu_parallel(sums.data_ptr<std::int32_t>(),
                                           n,
                                           out,
                                           x_scales.data_ptr<float>(),
                                           x_scales.numel(),
                                           w_scales.data_ptr<float>(),
                                           w_scales.numel(),
                                           b.defined() ? b.data_ptr<float>() : nullptr,
                                           y.data_ptr<float>(),
                                           util::kernel_threads());
    TORCH_CHECK(status == kernels::Status::kOk,
                "int8_linear: rescale of (",
                n,
                ", ",
                out,
                ") sums with ",
                x_scales.numel(),
                " and ",
                w_scales.numel(),
                " scales failed: ",
                kernels::to_string(status));
    return y;
}

}  // namespace lowbit::quant
