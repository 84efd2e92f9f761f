// average_gradients (gradient_averaging.h): flatten, sum over ranks, divide, scatter back. The
// sum is bit-identical on every rank and so is the division, so replicas stay identical.
#include "lowbit/dist/gradient_averaging.h"

namespace lowbit::dist {
namespace {

// Sums the bucket's gradients and riders (if any) over the ranks in one allreduce; the gradients
// are then divided into means, the riders kept as sums.
void reduce_bucket(World& world, const std::vector<torch::Tensor>& grads, torch::Tensor* riders) {
    std::vector<torch::Tensor> flat_views;
    flat_views.reserve(grads.size() + 1);
    for (const torch::Tensor& g : grads) {
        flat_views.push_back(g.reshape({-1}));
    }
    if (riders != nullptr) {
        flat_views.push_back(riders->to(flat_views.front().device()));
    }
    std::vector<torch::Tensor> bucket{torch::cat(flat_views)};  // (sum of numels [+ riders],)
    world.allreduce_sum(bucket);
    int64_t offset = 0;
    for (const torch::Tensor& g : grads) {
        g.copy_(bucket[0].narrow(0, offset, g.numel()).view(g.sizes()));
        g.div_(static_cast<double>(world.size()));
        offset += g.numel();
    }
    if (riders != nullptr) {
        riders->copy_(bucket[0].narrow(0, offset, riders->numel()));
    }
}

}  // namespace

std::vector<std::vector<torch::Tensor>> gradient_buckets(
    const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
    std::vector<std::vector<torch::Tensor>> buckets;
    int64_t bytes = 0;
    for (const torch::Tensor& p : parameters) {
        torch::Tensor& grad = const_cast<torch::Tensor&>(p).mutable_grad();
        if (!grad.defined()) {
            grad = torch::zeros_like(p);
        }
        const int64_t grad_bytes = grad.numel() * static_cast<int64_t>(grad.element_size());
        const bool fits =
            !buckets.empty() && buckets.back().front().scalar_type() == grad.scalar_type() &&
            buckets.back().front().device() == grad.device() && bytes + grad_bytes <= bucket_bytes;
        if (!fits) {
            buckets.emplace_back();
            bytes = 0;
        }
        buckets.back().push_back(grad);
        bytes += grad_bytes;
    }
    return buckets;
}

void sum_riders_alone(World& world, torch::Tensor& riders) {
    if (!riders.defined() || riders.numel() == 0) {
        return;
    }
    std::vector<torch::Tensor> alone{riders.contiguous()};
    world.allreduce_sum(alone);
    riders.copy_(alone[0]);
}

void average_gradients(World& world,
                       const std::vector<torch::Tensor>& parameters,
                       torch::Tensor& riders,
                       int64_t bucket_bytes) {
    if (world.size() == 1) {
        return;
    }
    const std::vector<std::vector<torch::Tensor>> buckets =
        gradient_buckets(parameters, bucket_bytes);
    const bool riders_fit = !buckets.empty() &&
                            buckets.back().front().scalar_type() == torch::kFloat32 &&
                            riders.defined() && riders.numel() > 0;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
        const bool last = b + 1 == buckets.size();
        reduce_bucket(world, buckets[b], last && riders_fit ? &riders : nullptr);
    }
    if (!riders_fit) {
        sum_riders_alone(world, riders);
    }
}

}  // namespace lowbit::dist
