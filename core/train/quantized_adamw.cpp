// QuantizedAdamW (see quantized_adamw.h): per-parameter dispatch between AdamW's torch ops (both
// moments float32) and the fused quantized-Adam kernel on the parameter's device.
#include "lowbit/train/quantized_adamw.h"

#include "lowbit/kernels/quantized_adam.h"
#include "lowbit/quant/kernel_params.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/kernel_threads.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <cmath>
#include <map>

#include "quantized_adamw_moment.h"

namespace lowbit::train {

struct QuantizedAdamW::Slot {
    std::string name;
    torch::Tensor param;
    detail::StoredMoment m;
    detail::StoredMoment v;
    bool decay = false;
};

namespace {

// The fake quantizer equivalent to a stored format on a (rows, cols) view, when there is one.
std::optional<kernels::FakeQuantParams> equivalent_fake_quant(
    const std::optional<kernels::StateQuantFormat>& format, int64_t cols) {
    if (!format) {
        return std::nullopt;
    }
    kernels::FakeQuantParams p = kernels::state_group_fake_quant_params(*format);
    p.granularity = format->granularity;
    if (kernels::granularity_traits(format->granularity).groups ==
        kernels::ScaleGroups::kFlatBlocks) {
        // Flat blocks are the fake quantizer's row groups exactly when they divide the row.
        if (cols <= 0 || cols % format->block_size != 0) {
            return std::nullopt;
        }
        p.granularity = kernels::Granularity::kPerGroup;
        p.group_size = format->block_size;
    }
    return p;
}

void check_format(const std::optional<kernels::StateQuantFormat>& format,
                  const std::string& name,
                  const char* moment) {
    if (format && kernels::state_quant_check_args(*format, 0, 0) != kernels::Status::kOk) {
        throw util::BadInput("quantizer of " + std::string(moment) + " for parameter '" + name +
                             "' is invalid: bits " + std::to_string(format->bits) +
                             " (expected 2..8), block size " + std::to_string(format->block_size) +
                             " (expected >= 1), min_range " + std::to_string(format->min_range) +
                             " (expected > 0)");
    }
}

}  // namespace

kernels::StateQuantFormat state_quant_format(const kernels::FakeQuantParams& params) {
    if (params.rounding != kernels::Rounding::kNearest) {
        throw util::BadInput(
            "optimizer-state quantizers round to nearest (the reference code's torch.round); "
            "stochastic rounding is not supported for optim_m / optim_v");
    }
    kernels::StateQuantFormat f;
    f.bits = params.bits;
    f.symmetric = params.symmetric;
    f.grid = params.grid;
    f.min_range = params.min_range;
    // An unknown value is kept so that the optimizer's format check rejects it.
    f.granularity = kernels::is_valid(params.granularity)
                        ? kernels::stored_state_granularity(params.granularity)
                        : params.granularity;
    if (f.granularity == kernels::Granularity::kPerBlock) {
        f.block_size = params.group_size;
    }
    return f;
}

std::optional<kernels::StateQuantFormat> state_quant_format(const config::QuantizerSpec& spec) {
    if (!spec.enabled()) {
        return std::nullopt;
    }
    return state_quant_format(quant::kernel_params(spec));
}

QuantizedAdamW::QuantizedAdamW(std::vector<QuantizedAdamWParam> parameters,
                               AdamWOptions options,
                               kernels::SecondMomentMapping v_mapping)
    : options_(options), v_mapping_(v_mapping) {
    slots_.reserve(parameters.size());
    for (auto& p : parameters) {
        if (p.param.scalar_type() != torch::kFloat32) {
            throw util::BadInput("QuantizedAdamW: parameter '" + p.name + "' is " +
                                 std::string(c10::toString(p.param.scalar_type())) +
                                 ", expected float32 master weights");
        }
        check_format(p.m_format, p.name, "m (optim_m)");
        check_format(p.v_format, p.name, "v (optim_v)");
        slots_.push_back(
            Slot{p.name,
                 p.param,
                 detail::StoredMoment(p.param, p.m_format, kernels::SecondMomentMapping::kLinear),
                 detail::StoredMoment(p.param, p.v_format, v_mapping),
                 p.param.dim() >= 2});
    }
}

QuantizedAdamW::~QuantizedAdamW() = default;

void QuantizedAdamW::step(double lr) {
    torch::NoGradGuard no_grad;
    ++steps_taken_;
    const AdamWStepConstants constants = adamw_step_constants(options_, lr, steps_taken_);
    for (auto& slot : slots_) {
        const torch::Tensor& grad = slot.param.grad();
        if (!grad.defined()) {
            continue;
        }
        if (!slot.m.quantized() && !slot.v.quantized()) {
            // AdamW's own update, so unquantized parameters match AdamW bit for bit.
            adamw_update(slot.param,
                         grad,
                         slot.m.values(),
                         slot.v.values(),
                         slot.decay,
                         lr,
                         options_,
                         constants);
            if (MomentObserver* observer = moment_observer()) {
                UpdatedMoments moments;
                moments.param_name = slot.name;
                moments.m = slot.m.values();
                moments.v = slot.v.values();
                observer->on_moments(moments);
            }
            continue;
        }
        const double decay = slot.decay ? options_.weight_decay : 0.0;
        torch::Tensor param = slot.param.is_contiguous() ? slot.param : slot.param.contiguous();
        const torch::Tensor g = grad.to(torch::kFloat32).contiguous();
        const auto [rows, cols] = detail::moment_view_shape(param);
        kernels::QuantizedAdamArgs args;
        args.param = param.data_ptr<float>();
        args.grad = g.data_ptr<float>();
        args.rows = rows;
        args.cols = cols;
        args.m = slot.m.kernel_view();
        args.v = slot.v.kernel_view();
        // Observed steps: the kernel also writes the values it quantizes (float32, param's shape).
        MomentObserver* observer = moment_observer();
        torch::Tensor m_out;
        torch::Tensor v_out;
        if (observer != nullptr) {
            m_out = slot.m.quantized() ? torch::empty_like(param) : torch::Tensor();
            v_out = slot.v.quantized() ? torch::empty_like(param) : torch::Tensor();
            args.m.unquantized_out = m_out.defined() ? m_out.data_ptr<float>() : nullptr;
            args.v.unquantized_out = v_out.defined() ? v_out.data_ptr<float>() : nullptr;
        }
        args.v_mapping = v_mapping_;
        args.scalars = kernels::adam_step_scalars(
            lr, options_.beta1, options_.beta2, options_.eps, decay, steps_taken_);
        if (param.is_cpu()) {
            detail::check_kernel_status(
                kernels::quantized_adam_step_cpu_parallel(args, util::kernel_threads()),
                "quantized AdamW step (CPU)",
                slot.name);
        } else if (param.is_cuda()) {
#if LOWBIT_TORCH_CUDA
            const c10::cuda::CUDAGuard guard(param.device());
            detail::check_kernel_status(kernels::launch_quantized_adam_step(
                                            args, c10::cuda::getCurrentCUDAStream().stream()),
                                        "quantized AdamW step (CUDA)",
                                        slot.name);
#else
            TORCH_CHECK(false,
                        "parameter '",
                        slot.name,
                        "' is on ",
                        param.device(),
                        " but this build has no CUDA kernels");
#endif
        } else {
            TORCH_CHECK(
                false, "parameter '", slot.name, "' is on unsupported device ", param.device());
        }
        if (!param.is_same(slot.param)) {
            slot.param.copy_(param);
        } else {
            // The kernel wrote through the data pointer: tell version-keyed readers (the layers'
            // cached Q_W(W), autograd's saved-tensor checks) that the parameter changed.
            slot.param.unsafeGetTensorImpl()->bump_version();
        }
        if (observer != nullptr) {
            const int64_t row_len = detail::moment_view_shape(slot.param).second;
            observer->on_moments({.param_name = slot.name,
                                  .m = slot.m.quantized() ? m_out : slot.m.values(),
                                  .v = slot.v.quantized() ? v_out : slot.v.values(),
                                  .m_quantized = slot.m.quantized(),
                                  .v_quantized = slot.v.quantized(),
                                  .m_params = equivalent_fake_quant(slot.m.format(), row_len),
                                  .v_params = equivalent_fake_quant(slot.v.format(), row_len)});
        }
    }
}

OptimizerState QuantizedAdamW::state() const {
    OptimizerState out;
    for (const auto& slot : slots_) {
        slot.m.append_state(slot.name + ".exp_avg", &out);
        slot.v.append_state(slot.name + ".exp_avg_sq", &out);
    }
    out.emplace_back("step", torch::tensor({steps_taken_}, torch::kInt64));
    return out;
}

void QuantizedAdamW::load_state(const OptimizerState& state) {
    const std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
    for (auto& slot : slots_) {
        slot.m.load_state(slot.name + ".exp_avg", by_name);
        slot.v.load_state(slot.name + ".exp_avg_sq", by_name);
    }
    auto step_it = by_name.find("step");
    if (step_it == by_name.end() || step_it->second.numel() != 1) {
        throw util::BadInput("optimizer state is missing its 'step' counter");
    }
    steps_taken_ = step_it->second.to(torch::kCPU, torch::kInt64).item<int64_t>();
}

int64_t QuantizedAdamW::state_bytes() const {
    int64_t bytes = 0;
    for (const auto& slot : slots_) {
        bytes += slot.m.bytes() + slot.v.bytes();
    }
    return bytes;
}

std::vector<QuantizedMomentsView> QuantizedAdamW::quantized_moments() const {
    std::vector<QuantizedMomentsView> out;
    for (const auto& slot : slots_) {
        if (!slot.m.quantized() && !slot.v.quantized()) {
            continue;
        }
        const int64_t cols = detail::moment_view_shape(slot.param).second;
        QuantizedMomentsView view;
        view.name = slot.name;
        view.m = slot.m.dequantized();
        view.v = slot.v.dequantized();
        view.m_format = slot.m.format();
        view.v_format = slot.v.format();
        view.v_mapping = v_mapping_;
        view.m_params = equivalent_fake_quant(slot.m.format(), cols);
        view.v_params = equivalent_fake_quant(slot.v.format(), cols);
        out.push_back(std::move(view));
    }
    return out;
}

}  // namespace lowbit::train
