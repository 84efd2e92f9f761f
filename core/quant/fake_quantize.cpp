// Torch adapter of the fake-quant kernels: shape and dtype handling, device dispatch.
#include "lowbit/quant/fake_quantize.h"

#include "lowbit/kernels/status.h"
#include "lowbit/quant/layer_quantizers.h"
#include "lowbit/util/kernel_threads.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lowbit::quant {
namespace {

void check_status(kernels::Status status,
                  const torch::Tensor& x,
                  const kernels::FakeQuantParams& params,
                  const char* what) {
    TORCH_CHECK(status == kernels::Status::kOk,
                what,
                " failed (",
                kernels::to_string(status),
                ") for a tensor of shape ",
                x.sizes(),
                " with a ",
                describe(params),
                " quantizer",
                params.granularity == kernels::Granularity::kPerGroup
                    ? " (the group size must divide the last dimension)"
                    : "");
}

bool positions_first(const kernels::FakeQuantParams& params) {
    return kernels::is_valid(params.granularity) &&
           kernels::granularity_traits(params.granularity).view ==
               kernels::KernelView::kPositionsFirst;
}

// (rows, cols) of the 2-D view whose last axis is x's last axis.
std::pair<int64_t, int64_t> view_shape(const torch::Tensor& x) {
    const int64_t cols = x.size(-1);
    return {cols == 0 ? 0 : x.numel() / cols, cols};
}

// q (the quantized kernel_view of x) back in x's shape.
torch::Tensor from_kernel_view(const torch::Tensor& q,
                               const torch::Tensor& x,
                               const kernels::FakeQuantParams& params) {
    if (positions_first(params)) {
        return q.view({x.size(1), x.size(0), x.size(2)}).transpose(0, 1).contiguous();
    }
    return q.view(x.sizes());
}

void check_input(const torch::Tensor& x, const kernels::FakeQuantParams& params, const char* what) {
    TORCH_CHECK(x.defined(), what, ": undefined tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16 ||
                    x.scalar_type() == torch::kHalf,
                what,
                ": expects float32, bfloat16 or float16, got ",
                x.scalar_type());
    const auto [rows, cols] = view_shape(x);
    check_status(kernels::fake_quant_check_args(params, rows, cols), x, params, what);
}

}  // namespace

torch::Tensor kernel_view(const torch::Tensor& x, const kernels::FakeQuantParams& params) {
    if (!positions_first(params)) {
        return x.reshape({x.size(-1) == 0 ? 0 : x.numel() / x.size(-1), x.size(-1)});
    }
    TORCH_CHECK(x.dim() == 3,
                "per_position quantization needs the (B, T, C) tensor to find its sequence "
                "positions, got shape ",
                x.sizes());
    return x.transpose(0, 1).contiguous().view({x.size(1), x.size(0) * x.size(2)});  // (T, B·C)
}

namespace {

// fake_quantize of the 2-D kernel view x (rows, cols); same shape and dtype back. On CUDA a
// bfloat16 x is read and written by the kernel itself (docs/kernels.md §CUDA fake quantization);
// everything else goes through float32. The scales come from LibTorch's caching allocator even
// when the caller does not keep them, so no kernel allocates memory of its own.
torch::Tensor quantize_kernel_view(const torch::Tensor& x,
                                   const kernels::FakeQuantParams& params,
                                   FakeQuantScales* scales_out) {
    check_input(x, params, "fake_quantize");
    TORCH_CHECK(x.is_cpu() || x.is_cuda(), "fake_quantize: unsupported device ", x.device());
    const auto [rows, cols] = view_shape(x);
    const bool bf16_kernel = x.is_cuda() && x.scalar_type() == torch::kBFloat16;
    const torch::Tensor input = bf16_kernel ? x.contiguous() : x.to(torch::kFloat).contiguous();
    torch::Tensor out = torch::empty_like(input);
    const int64_t groups = kernels::fake_quant_num_groups(params, rows, cols);
    // (2, groups): scales, then zero points.
    const torch::Tensor scale_zero =
        torch::empty({2, groups}, input.options().dtype(torch::kFloat32));
    float* scales = scale_zero.data_ptr<float>();
    float* zero_points = scales + groups;
    if (x.is_cpu()) {
        check_status(kernels::fake_quant_cpu_parallel(input.data_ptr<float>(),
                                                      rows,
                                                      cols,
                                                      params,
                                                      out.data_ptr<float>(),
                                                      scales,
                                                      zero_points,
                                                      util::kernel_threads()),
                     x,
                     params,
                     "fake_quantize (CPU)");
    } else {
#if LOWBIT_TORCH_CUDA
        const c10::cuda::CUDAGuard guard(x.device());
        const cudaStream_t stream = c10::cuda::getCurrentCUDAStream().stream();
        const kernels::Status status =
            bf16_kernel
                ? kernels::launch_fake_quant_bf16(
                      reinterpret_cast<const std::uint16_t*>(input.data_ptr<at::BFloat16>()),
                      rows,
                      cols,
                      params,
                      reinterpret_cast<std::uint16_t*>(out.data_ptr<at::BFloat16>()),
                      scales,
                      zero_points,
                      stream)
                : kernels::launch_fake_quant(input.data_ptr<float>(),
                                             rows,
                                             cols,
                                             params,
                                             out.data_ptr<float>(),
                                             scales,
                                             zero_points,
                                             stream);
        check_status(status, x, params, "fake_quantize (CUDA)");
#else
        TORCH_CHECK(false,
                    "fake_quantize: this build has no CUDA kernels (LibTorch or nvcc without "
                    "CUDA); got a tensor on ",
                    x.device());
#endif
    }
    if (scales_out != nullptr) {
        scales_out->scales = scale_zero[0];
        scales_out->zero_points = scale_zero[1];
    }
    return out.to(x.scalar_type());
}

}  // namespace

torch::Tensor fake_quantize(const torch::Tensor& x,
                            const kernels::FakeQuantParams& params,
                            FakeQuantScales* scales_out) {
    if (x.dim() == 0 || x.numel() == 0) {
        return x.clone();
    }
    return from_kernel_view(
        quantize_kernel_view(kernel_view(x, params), params, scales_out), x, params);
}

torch::Tensor quantize_codes(const torch::Tensor& x,
                             const kernels::FakeQuantParams& params,
                             FakeQuantScales* scales_out) {
    TORCH_CHECK(scales_out != nullptr, "quantize_codes: scales_out is required");
    check_input(x, params, "quantize_codes");
    const torch::Tensor view = kernel_view(x, params);
    const auto [rows, cols] = view_shape(view);
    const torch::Tensor input = view.to(torch::kCPU, torch::kFloat).contiguous();
    torch::Tensor codes = torch::empty(input.sizes(), input.options().dtype(torch::kInt8));
    const int64_t groups = std::max<int64_t>(kernels::fake_quant_num_groups(params, rows, cols), 0);
    torch::Tensor scales = torch::empty({groups}, input.options());
    torch::Tensor zero_points = torch::empty({groups}, input.options());
    if (input.numel() > 0) {
        check_status(kernels::fake_quant_codes_ref(input.data_ptr<float>(),
                                                   rows,
                                                   cols,
                                                   params,
                                                   codes.data_ptr<int8_t>(),
                                                   scales.data_ptr<float>(),
                                                   zero_points.data_ptr<float>()),
                     x,
                     params,
                     "quantize_codes");
    }
    scales_out->scales = scales;
    scales_out->zero_points = zero_points;
    return from_kernel_view(codes, x, params);
}

torch::Tensor fake_quantize_in_dtype(const torch::Tensor& x,
                                     const kernels::FakeQuantParams& params) {
    if (x.scalar_type() == torch::kFloat || x.dim() == 0 || x.numel() == 0) {
        return fake_quantize(x, params);
    }
    check_input(x, params, "fake_quantize_in_dtype");
    TORCH_CHECK(params.rounding == kernels::Rounding::kNearest,
                "fake_quantize_in_dtype: rounds to nearest only (stochastic rounding runs in the "
                "float32 kernels)");
    const torch::Tensor view = kernel_view(x, params);  // (rows, cols)
    const int64_t n = view.numel();
    torch::Tensor g;  // (groups, group_len): one reduction group per row
    switch (kernels::granularity_traits(params.granularity).groups) {
        case kernels::ScaleGroups::kRows:
            g = view;
            break;
        case kernels::ScaleGroups::kRowGroups:
            g = view.reshape({n / params.group_size, params.group_size});
            break;
        case kernels::ScaleGroups::kWhole:
        case kernels::ScaleGroups::kFlatBlocks:  // rejected by check_input
            g = view.reshape({1, n});
            break;
    }
    const kernels::CodeRange r =
        kernels::code_range(params.grid, params.bits, params.symmetric, params.is_signed);
    const double qn = r.qn;
    const double qp = r.qp;
    const double divisor =
        kernels::step_divisor(params.grid, params.bits, params.symmetric, params.is_signed);
    const double r_min = params.min_range;
    torch::Tensor out;  // every operation below stays in x's dtype (Python scalars do not promote)
    if (params.symmetric) {
        const torch::Tensor s = g.abs().amax(1, true).clamp_min(r_min) / divisor;  // (groups, 1)
        out = torch::round(torch::clamp(g / s, qn, qp)) * s;
    } else {
        const torch::Tensor lo = g.amin(1, true);
        const torch::Tensor s = (g.amax(1, true) - lo).clamp_min(r_min) / divisor;
        if (params.grid == kernels::QuantGrid::kReference) {
            const torch::Tensor z = torch::round(lo / s - qn);  // z = round(min/s - Qn)
            out = (torch::round(torch::clamp(g / s - z, qn, qp)) + z) * s;
        } else {
            const torch::Tensor zp = torch::round(-lo / s);  // zp = round(-min/s)
            out = (torch::round(torch::clamp(g / s + zp, qn, qp)) - zp) * s;
        }
    }
    return from_kernel_view(out.reshape(view.sizes()), x, params);
}

}  // namespace lowbit::quant
