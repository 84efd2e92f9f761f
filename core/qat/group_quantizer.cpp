// GroupQuantizer: the straight-through fake quantization of docs/efficientqat.md §Quantizer.
#include "lowbit/qat/group_quantizer.h"

#include "lowbit/kernels/quant_format.h"

#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace lowbit::qat {

namespace {

// Straight-through estimators as autograd functions, so the forward value is exactly round(x) or
// clamp(x, lo, hi) (the x + (f(x) − x).detach() form can be an ulp off) and the gradient is the
// identity.
struct RoundStraightThrough : torch::autograd::Function<RoundStraightThrough> {
    static torch::Tensor forward(torch::autograd::AutogradContext* /*ctx*/,
                                 const torch::Tensor& x) {
        return x.round();
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                                 torch::autograd::tensor_list grads) {
        return {grads[0]};
    }
};

struct ClampStraightThrough : torch::autograd::Function<ClampStraightThrough> {
    static torch::Tensor forward(torch::autograd::AutogradContext* /*ctx*/,
                                 const torch::Tensor& x,
                                 double lo,
                                 double hi) {
        return x.clamp(lo, hi);
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                                 torch::autograd::tensor_list grads) {
        return {grads[0], torch::Tensor(), torch::Tensor()};
    }
};

// (out, in) -> (out, in/G, G): one row per group.
torch::Tensor grouped(const torch::Tensor& weight, int64_t group_size) {
    return weight.reshape({weight.size(0), weight.size(1) / group_size, group_size});
}

}  // namespace

void check_group_quant_spec(const GroupQuantSpec& spec, int64_t in, const std::string& what) {
    if (!kernels::is_packable_bits(spec.bits)) {
        throw std::invalid_argument(what + ": bits must be 2, 3, 4 or 8, got " +
                                    std::to_string(spec.bits));
    }
    if (spec.group_size < 1 || in % spec.group_size != 0) {
        throw std::invalid_argument(what + ": group_size " + std::to_string(spec.group_size) +
                                    " does not divide the input width " + std::to_string(in));
    }
}

MinMaxParams min_max_params(const torch::Tensor& groups, const GroupQuantSpec& spec) {
    torch::NoGradGuard no_grad;
    const torch::Tensor g = groups.detach().to(torch::kFloat32);
    const torch::Tensor lo = std::get<0>(g.min(-1));
    const torch::Tensor hi = std::get<0>(g.max(-1));
    MinMaxParams params;
    params.step = ((hi - lo) / spec.qmax()).clamp(kMinStep, kMaxStep);
    params.zero_point = (-(lo / params.step).clamp(-1e4, 1e4)).round();
    return params;
}

GroupQuantizer::GroupQuantizer(const torch::Tensor& weight, GroupQuantSpec spec) : spec_(spec) {
    TORCH_CHECK(
        weight.dim() == 2, "GroupQuantizer: weight must be (out, in), got ", weight.sizes());
    check_group_quant_spec(spec, weight.size(1), "GroupQuantizer");
    MinMaxParams params = min_max_params(grouped(weight, spec.group_size), spec);
    step_ = std::move(params.step);  // (out, in/G)
    zero_point_ = std::move(params.zero_point);
}

GroupQuantizer::GroupQuantizer(torch::Tensor step, torch::Tensor zero_point, GroupQuantSpec spec)
    : spec_(spec), step_(std::move(step)), zero_point_(std::move(zero_point)) {
    TORCH_CHECK(step_.dim() == 2 && step_.sizes() == zero_point_.sizes(),
                "GroupQuantizer: step ",
                step_.sizes(),
                " and zero point ",
                zero_point_.sizes(),
                " must be the same (out, in/G)");
}

torch::Tensor GroupQuantizer::fake_quantize(const torch::Tensor& weight) const {
    const double qmax = spec_.qmax();
    const torch::Tensor s = ClampStraightThrough::apply(step_, kMinStep, kMaxStep).unsqueeze(-1);
    const torch::Tensor z =
        ClampStraightThrough::apply(RoundStraightThrough::apply(zero_point_), 0.0, qmax)
            .unsqueeze(-1);
    const torch::Tensor w =
        grouped(weight.to(torch::kFloat32), spec_.group_size);  // (out, in/G, G)
    const torch::Tensor scaled = w / s;
    // An ordinary clamp: no gradient to W outside the grid, only to s and z.
    const torch::Tensor q = (RoundStraightThrough::apply(scaled) + z).clamp(0.0, qmax);
    return ((q - z) * s).reshape(weight.sizes());
}

torch::Tensor GroupQuantizer::codes(const torch::Tensor& weight) const {
    torch::NoGradGuard no_grad;
    const torch::Tensor w = grouped(weight.detach().to(torch::kFloat32), spec_.group_size);
    const torch::Tensor s = effective_step().unsqueeze(-1);
    const torch::Tensor z = effective_zero_point().to(torch::kFloat32).unsqueeze(-1);
    return ((w / s).round() + z).clamp(0.0, spec_.qmax()).reshape(weight.sizes()).to(torch::kUInt8);
}

torch::Tensor GroupQuantizer::effective_step() const {
    torch::NoGradGuard no_grad;
    return step_.detach().clamp(kMinStep, kMaxStep);
}

torch::Tensor GroupQuantizer::effective_zero_point() const {
    torch::NoGradGuard no_grad;
    return zero_point_.detach().round().clamp(0.0, spec_.qmax()).to(torch::kUInt8);
}

void GroupQuantizer::finalize() {
    torch::NoGradGuard no_grad;
    step_.copy_(effective_step().to(torch::kFloat16).to(torch::kFloat32));
    zero_point_.copy_(effective_zero_point().to(torch::kFloat32));
}

void GroupQuantizer::set_trainable(bool step, bool zero_point) {
    step_.requires_grad_(step);
    zero_point_.requires_grad_(zero_point);
}

}  // namespace lowbit::qat
