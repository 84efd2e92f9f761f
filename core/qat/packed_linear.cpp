// PackedLinear: the kernels' packed product, or the differentiable (q − z)·s of E2E-QP.
#include "lowbit/qat/packed_linear.h"

#include "lowbit/util/kernel_threads.h"

#include <ATen/Parallel.h>
#ifdef LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <stdexcept>
#include <utility>

namespace lowbit::qat {

PackedLinear::PackedLinear(PackedWeight packed) : packed_(std::move(packed)) {
    check_packed_weight(packed_, "PackedLinear");
    packed_.qweight = packed_.qweight.contiguous();
    packed_.qzeros = packed_.qzeros.contiguous();
    steps_ = packed_.scales.to(torch::kFloat32).contiguous();
}

PackedWeight PackedLinear::packed() const {
    PackedWeight w = packed_;
    w.qweight = w.qweight.cpu();
    w.qzeros = w.qzeros.cpu();
    w.g_idx = w.g_idx.cpu();
    w.scales = steps_.detach().cpu().to(torch::kFloat16);
    return w;
}

void PackedLinear::to(const torch::Device& device) {
    packed_.qweight = packed_.qweight.to(device);
    packed_.qzeros = packed_.qzeros.to(device);
    const bool trainable = steps_.requires_grad();
    steps_ = steps_.detach().to(device).contiguous().requires_grad_(trainable);
    centered_codes_ = torch::Tensor();
}

torch::Tensor PackedLinear::differentiable_forward(const torch::Tensor& x,
                                                   const torch::Tensor& bias) {
    if (!centered_codes_.defined()) {
        const int64_t groups = packed_.groups();
        const torch::Tensor q = unpack_codes(packed_).to(torch::kFloat32);        // (out, in)
        const torch::Tensor z = unpack_zero_points(packed_).to(torch::kFloat32);  // (out, in/G)
        centered_codes_ = (q.view({packed_.out, groups, packed_.spec.group_size}) - z.unsqueeze(-1))
                              .to(steps_.device());
    }
    const torch::Tensor weight =
        (centered_codes_ * steps_.t().unsqueeze(-1)).reshape({packed_.out, packed_.in});
    return torch::nn::functional::linear(x, weight.to(x.scalar_type()), bias);
}

torch::Tensor PackedLinear::forward(const torch::Tensor& x,
                                    const torch::Tensor& /*weight*/,
                                    const torch::Tensor& bias) {
    if (torch::GradMode::is_enabled() && (steps_.requires_grad() || x.requires_grad())) {
        return differentiable_forward(x, bias);
    }
    TORCH_CHECK(x.size(-1) == packed_.in,
                "PackedLinear: input has ",
                x.size(-1),
                " features, the layer takes ",
                packed_.in);
    // Many rows (a prefill or an evaluation batch) make the product compute-bound: forming Ŵ once
    // and running LibTorch's GEMM beats decoding the words for every row tile
    // (docs/efficientqat.md §Packed linear on the CPU).
    if (x.numel() / packed_.in >= kDenseRows) {
        const torch::NoGradGuard no_grad;
        return differentiable_forward(x, bias);
    }
    const torch::Tensor rows = x.reshape({-1, packed_.in}).to(torch::kFloat32).contiguous();
    torch::Tensor y = torch::empty({rows.size(0), packed_.out}, rows.options());
    const torch::Tensor bias32 =
        bias.defined() ? bias.detach().to(torch::kFloat32).contiguous() : torch::Tensor();
    const kernels::PackedWeightView view = packed_view(packed_, steps_.detach());
    kernels::Status status = kernels::Status::kNoKernelForConfig;
    if (rows.size(0) == 0) {
        status = kernels::Status::kOk;
    } else if (rows.is_cpu()) {
        status = kernels::packed_linear_cpu(rows.data_ptr<float>(),
                                            rows.size(0),
                                            view,
                                            bias32.defined() ? bias32.data_ptr<float>() : nullptr,
                                            y.data_ptr<float>(),
                                            util::kernel_threads());
    }
#ifdef LOWBIT_TORCH_CUDA
    else if (rows.is_cuda()) {
        status =
            kernels::launch_packed_linear(rows.data_ptr<float>(),
                                          rows.size(0),
                                          view,
                                          bias32.defined() ? bias32.data_ptr<float>() : nullptr,
                                          y.data_ptr<float>(),
                                          c10::cuda::getCurrentCUDAStream().stream());
    }
#endif
    if (status == kernels::Status::kNoKernelForConfig) {
        return differentiable_forward(x, bias);
    }
    TORCH_CHECK(status == kernels::Status::kOk,
                "PackedLinear: packed product failed (",
                kernels::to_string(status),
                ")");
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = packed_.out;
    return y.view(shape).to(x.scalar_type());
}

std::vector<std::shared_ptr<PackedLinear>> packed_layers(const model::LanguageModelImpl& model) {
    std::vector<std::shared_ptr<PackedLinear>> layers;
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (const model::Linear& linear : model.block_linears(b)) {
            auto packed = std::dynamic_pointer_cast<PackedLinear>(linear->weight_only());
            TORCH_CHECK(packed != nullptr, "layer ", linear->path(), " is not packed");
            layers.push_back(packed);
        }
    }
    return layers;
}

void move_model(model::LanguageModelImpl& model, const torch::Device& device) {
    model.to(device);
    for (const model::Linear& linear : model.linears()) {
        if (auto packed = std::dynamic_pointer_cast<PackedLinear>(linear->weight_only())) {
            packed->to(device);
        }
    }
}

}  // namespace lowbit::qat
