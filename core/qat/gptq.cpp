// GPTQ (Frantar et al. 2023) with lazy batch updates, damping and act-order, on the min-max
// asymmetric groups of docs/efficientqat.md §Quantizer. The error propagation runs in fp64.
#include "lowbit/qat/gptq.h"

#include <vector>

namespace lowbit::qat {

HessianAccumulator::HessianAccumulator(int64_t in_features)
    : sum_(torch::zeros({in_features, in_features}, torch::kFloat64)) {}

void HessianAccumulator::add(const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    const torch::Tensor rows =
        x.detach().reshape({-1, sum_.size(0)}).to(torch::kCPU, torch::kFloat64);
    sum_.addmm_(rows.t(), rows);
    rows_ += rows.size(0);
}

void HessianAccumulator::sum_over(dist::World& world) {
    // [Σ xᵀx flattened, rows] in one allreduce; float64 holds row counts exactly below 2^53.
    std::vector<torch::Tensor> both{torch::cat(
        {sum_.reshape({-1}), torch::tensor({static_cast<double>(rows_)}, torch::kFloat64)})};
    world.allreduce_sum(both);
    sum_.copy_(both[0].narrow(0, 0, sum_.numel()).view(sum_.sizes()));
    rows_ = static_cast<int64_t>(both[0][sum_.numel()].item<double>());
}

torch::Tensor HessianAccumulator::hessian() const {
    TORCH_CHECK(rows_ > 0, "HessianAccumulator: no inputs were seen");
    return sum_ * (2.0 / static_cast<double>(rows_));
}

namespace {

// Step (rounded to fp16) and zero point (clamped) of every group of the (out, G) columns.
struct GroupParams {
    torch::Tensor step;        // (out) fp64 holding an fp16 value
    torch::Tensor zero_point;  // (out) fp64 integer in [0, qmax]
};

GroupParams group_params(const torch::Tensor& columns, const GroupQuantSpec& spec) {
    const MinMaxParams p = min_max_params(columns.unsqueeze(1), spec);  // (out, 1)
    GroupParams g;
    g.step = p.step.squeeze(1).to(torch::kFloat16).to(torch::kFloat64);
    g.zero_point = p.zero_point.squeeze(1).clamp(0, spec.qmax()).to(torch::kFloat64);
    return g;
}

}  // namespace

GptqResult gptq_quantize(const torch::Tensor& weight,
                         const torch::Tensor& hessian,
                         const GroupQuantSpec& spec,
                         const GptqOptions& options) {
    TORCH_CHECK(weight.dim() == 2, "gptq_quantize: weight must be (out, in)");
    const int64_t out = weight.size(0);
    const int64_t in = weight.size(1);
    check_group_quant_spec(spec, in, "gptq_quantize");
    TORCH_CHECK(hessian.sizes() == torch::IntArrayRef({in, in}),
                "gptq_quantize: hessian must be (in, in) = (",
                in,
                ", ",
                in,
                "), got ",
                hessian.sizes());
    torch::NoGradGuard no_grad;
    const int64_t group = spec.group_size;
    const double qmax = spec.qmax();
    torch::Tensor w = weight.detach().to(torch::kCPU, torch::kFloat64).clone();
    torch::Tensor h = hessian.to(torch::kCPU, torch::kFloat64).clone();

    // An input that never fired has no curvature: its weights cannot matter, zero them.
    const torch::Tensor dead = h.diagonal() == 0;
    h.diagonal().masked_fill_(dead, 1.0);
    w.index_put_({torch::indexing::Slice(), dead}, 0.0);

    std::vector<GroupParams> static_groups;
    if (options.act_order) {
        for (int64_t g = 0; g < in / group; ++g) {
            static_groups.push_back(group_params(w.slice(1, g * group, (g + 1) * group), spec));
        }
    }
    const torch::Tensor perm = options.act_order
                                   ? torch::argsort(h.diagonal(), /*stable=*/true, 0, true)
                                   : torch::arange(in, torch::kLong);
    w = w.index_select(1, perm);
    h = h.index_select(0, perm).index_select(1, perm);
    h.diagonal().add_(options.damp_fraction * h.diagonal().mean().item<double>());
    // The upper Cholesky factor of H⁻¹: row i holds the update weights of column i.
    const torch::Tensor h_inv =
        torch::linalg_cholesky(torch::cholesky_inverse(torch::linalg_cholesky(h)), /*upper=*/true);

    torch::Tensor q_all = torch::zeros({out, in}, torch::kFloat64);
    torch::Tensor steps = torch::zeros({out, in / group}, torch::kFloat64);
    torch::Tensor zeros = torch::zeros({out, in / group}, torch::kFloat64);
    const auto perm_index = perm.accessor<int64_t, 1>();
    GroupParams current;
    // Whole groups per lazy batch.
    const int64_t block = std::max<int64_t>(1, options.block_size / group) * group;
    for (int64_t i1 = 0; i1 < in; i1 += block) {
        const int64_t i2 = std::min(i1 + block, in);
        torch::Tensor w1 = w.slice(1, i1, i2).clone();
        torch::Tensor err1 = torch::zeros_like(w1);
        const torch::Tensor h_inv1 = h_inv.slice(0, i1, i2).slice(1, i1, i2);
        for (int64_t i = 0; i < i2 - i1; ++i) {
            const int64_t column = i1 + i;
            const int64_t g = perm_index[column] / group;
            if (options.act_order) {
                current = static_groups[static_cast<size_t>(g)];
            } else if (column % group == 0) {
                // The group's range from the weight as every earlier column has updated it (a
                // lazy batch holds whole groups, so the group lies inside w1).
                current = group_params(w1.slice(1, i, i + group), spec);
            }
            const torch::Tensor col = w1.select(1, i);
            const torch::Tensor q =
                ((col / current.step).round() + current.zero_point).clamp(0.0, qmax);
            const torch::Tensor col_hat = (q - current.zero_point) * current.step;
            q_all.select(1, perm_index[column]).copy_(q);
            steps.select(1, g).copy_(current.step);
            zeros.select(1, g).copy_(current.zero_point);
            const torch::Tensor err = (col - col_hat) / h_inv1[i][i];
            w1.slice(1, i).sub_(err.unsqueeze(1).matmul(h_inv1[i].slice(0, i).unsqueeze(0)));
            err1.select(1, i).copy_(err);
        }
        if (i2 < in) {
            w.slice(1, i2).sub_(err1.matmul(h_inv.slice(0, i1, i2).slice(1, i2)));
        }
    }
    GptqResult result;
    result.codes = q_all.to(torch::kUInt8);
    result.zero_points = zeros.to(torch::kUInt8);
    result.steps = steps.to(torch::kFloat32);
    const torch::Tensor centered =
        (q_all.view({out, in / group, group}) - zeros.unsqueeze(-1)) * steps.unsqueeze(-1);
    result.weight = centered.reshape({out, in}).to(torch::kFloat32);
    return result;
}

}  // namespace lowbit::qat
