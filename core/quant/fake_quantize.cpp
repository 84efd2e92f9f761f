// Torch adapter of the fake-quant kernels: shape and dtype handling, device dispatch.
#include "lowbit/quant/fake_quantize.h"

#include "lowbit/kernels/status.h"
#include "lowbit/quant/layer_quantizers.h"

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

// (rows, cols) of the 2-D view whose last axis is x's last axis.
std::pair<int64_t, int64_t> view_shape(const torch::Tensor& x) {
    const int64_t cols = x.size(-1);
    return {cols == 0 ? 0 : x.numel() / cols, cols};
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

torch::Tensor fake_quantize(const torch::Tensor& x,
                            const kernels::FakeQuantParams& params,
                            FakeQuantScales* scales_out) {
    if (x.dim() == 0 || x.numel() == 0) {
        return x.clone();
    }
    check_input(x, params, "fake_quantize");
    const auto [rows, cols] = view_shape(x);
    const torch::Tensor input = x.to(torch::kFloat).contiguous();
    torch::Tensor out = torch::empty_like(input);
    const int64_t groups = kernels::fake_quant_num_groups(params, rows, cols);
    torch::Tensor scales;
    torch::Tensor zero_points;
    if (scales_out != nullptr) {
        scales = torch::empty({groups}, input.options());
        zero_points = torch::empty({groups}, input.options());
    }
    float* scales_ptr = scales.defined() ? scales.data_ptr<float>() : nullptr;
    float* zero_ptr = zero_points.defined() ? zero_points.data_ptr<float>() : nullptr;
    if (input.is_cpu()) {
        check_status(kernels::fake_quant_cpu_parallel(input.data_ptr<float>(),
                                                      rows,
                                                      cols,
                                                      params,
                                                      out.data_ptr<float>(),
                                                      scales_ptr,
                                                      zero_ptr,
                                                      at::get_num_threads()),
                     x,
                     params,
                     "fake_quantize (CPU)");
    } else if (input.is_cuda()) {
#if LOWBIT_TORCH_CUDA
        const c10::cuda::CUDAGuard guard(input.device());
        check_status(kernels::launch_fake_quant(input.data_ptr<float>(),
                                                rows,
                                                cols,
                                                params,
                                                out.data_ptr<float>(),
                                                scales_ptr,
                                                zero_ptr,
                                                c10::cuda::getCurrentCUDAStream().stream()),
                     x,
                     params,
                     "fake_quantize (CUDA)");
#else
        TORCH_CHECK(false,
                    "fake_quantize: this build has no CUDA kernels (LibTorch or nvcc without "
                    "CUDA); got a tensor on ",
                    x.device());
#endif
    } else {
        TORCH_CHECK(false, "fake_quantize: unsupported device ", x.device());
    }
    if (scales_out != nullptr) {
        scales_out->scales = scales;
        scales_out->zero_points = zero_points;
    }
    return out.view(x.sizes()).to(x.scalar_type());
}

torch::Tensor quantize_codes(const torch::Tensor& x,
                             const kernels::FakeQuantParams& params,
                             FakeQuantScales* scales_out) {
    TORCH_CHECK(scales_out != nullptr, "quantize_codes: scales_out is required");
    check_input(x, params, "quantize_codes");
    const auto [rows, cols] = view_shape(x);
    const torch::Tensor input = x.to(torch::kCPU, torch::kFloat).contiguous();
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
    return codes;
}

}  // namespace lowbit::quant
