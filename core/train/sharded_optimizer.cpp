// ShardedOptimizer (sharded_optimizer.h). States travel between ranks pickled (tensor_pickle.h),
// so any mix of float32 moments, codes and scales travels unchanged.
#include "lowbit/train/sharded_optimizer.h"

#include "lowbit/kernels/quant_format.h"
#include "lowbit/train/tensor_pickle.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace lowbit::train {

std::vector<int> balance_owners(const std::vector<int64_t>& costs, int ranks) {
    std::vector<std::size_t> order(costs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return costs[a] > costs[b];
    });
    std::vector<int64_t> load(static_cast<std::size_t>(ranks), 0);
    std::vector<int> owners(costs.size(), 0);
    for (const std::size_t item : order) {
        const auto lightest = std::min_element(load.begin(), load.end());
        owners[item] = static_cast<int>(lightest - load.begin());
        *lightest += costs[item];
    }
    return owners;
}

int64_t moment_bytes(const QuantizedAdamWParam& parameter) {
    const int64_t numel = parameter.param.numel();
    auto one = [numel](const std::optional<kernels::StateQuantFormat>& format) {
        return format ? kernels::stored_code_bytes(numel, format->bits) : 4 * numel;
    };
    return one(parameter.m_format) + one(parameter.v_format);
}

ShardedOptimizer::ShardedOptimizer(dist::World& world,
                                   std::vector<QuantizedAdamWParam> parameters,
                                   const OptimizerFactory& make_local)
    : world_(world) {
    std::vector<int64_t> costs;
    for (const QuantizedAdamWParam& p : parameters) {
        costs.push_back(moment_bytes(p));
        parameters_.push_back(p.param);
        names_.push_back(p.name);
    }
    owners_ = balance_owners(costs, world.size());
    std::vector<int64_t> share(static_cast<std::size_t>(world.size()), 0);
    std::vector<QuantizedAdamWParam> mine;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        share[static_cast<std::size_t>(owners_[i])] += parameters[i].param.numel();
        if (owners_[i] == world.rank()) {
            mine.push_back(std::move(parameters[i]));
        }
    }
    largest_share_ = *std::max_element(share.begin(), share.end());
    local_ = make_local(std::move(mine));
}

void ShardedOptimizer::step(double lr) {
    local_->observe_moments(moment_observer());
    local_->step(lr);
    if (parameters_.empty()) {
        return;
    }
    // (ranks · largest_share,): rank r's updated parameters, in order, in part r.
    torch::NoGradGuard no_grad;
    const torch::TensorOptions options = parameters_.front().options();
    torch::Tensor own = torch::zeros({largest_share_}, options);
    int64_t offset = 0;
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        if (owners_[i] == world_.rank()) {
            const int64_t numel = parameters_[i].numel();
            own.narrow(0, offset, numel).copy_(parameters_[i].detach().reshape({-1}));
            offset += numel;
        }
    }
    torch::Tensor all = torch::empty({world_.size() * largest_share_}, options);
    world_.allgather(own, all);
    std::vector<int64_t> offsets(static_cast<std::size_t>(world_.size()), 0);
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        const int owner = owners_[i];
        const int64_t numel = parameters_[i].numel();
        int64_t& at = offsets[static_cast<std::size_t>(owner)];
        if (owner != world_.rank()) {
            // copy_ bumps the version, so cached quantized weights see the update.
            parameters_[i].detach().copy_(
                all.narrow(0, owner * largest_share_ + at, numel).view(parameters_[i].sizes()));
        }
        at += numel;
    }
}

OptimizerState ShardedOptimizer::state() const {
    const std::vector<torch::Tensor> shares =
        world_.gather_bytes_to_writer(pickled(local_->state()));
    if (!world_.is_writer()) {
        return local_->state();
    }
    // The unsharded optimizer's order (so the checkpoint file is the same): parameter by
    // parameter, each one's entries taken from its owner's share, where they are contiguous and
    // in parameter order; then the step counter, which every share holds.
    std::vector<OptimizerState> by_rank;
    for (const torch::Tensor& share : shares) {
        by_rank.push_back(unpickled(share));
    }
    std::vector<std::size_t> next(by_rank.size(), 0);
    OptimizerState complete;
    for (std::size_t i = 0; i < names_.size(); ++i) {
        const auto owner = static_cast<std::size_t>(owners_[i]);
        const std::string prefix = names_[i] + ".";
        OptimizerState& share = by_rank[owner];
        while (next[owner] < share.size() && share[next[owner]].first.starts_with(prefix)) {
            complete.push_back(std::move(share[next[owner]++]));
        }
    }
    for (std::size_t r = 0; r < by_rank.size(); ++r) {
        for (; next[r] < by_rank[r].size(); ++next[r]) {
            auto& entry = by_rank[r][next[r]];
            const bool seen = std::any_of(complete.begin(), complete.end(), [&](const auto& e) {
                return e.first == entry.first;
            });
            if (!seen) {  // "step"
                complete.push_back(std::move(entry));
            }
        }
    }
    return complete;
}

void ShardedOptimizer::load_state(const OptimizerState& state) {
    local_->load_state(state);
    if (world_.is_writer() && world_.size() > 1) {
        loaded_ = state;
    }
}

void ShardedOptimizer::share_loaded_state() {
    if (world_.size() == 1) {
        return;
    }
    // [has a state, its length], then the pickled bytes.
    torch::Tensor bytes = loaded_ ? pickled(*loaded_) : torch::empty({0}, torch::kUInt8);
    std::vector<torch::Tensor> header{
        torch::tensor({loaded_ ? int64_t{1} : int64_t{0}, bytes.numel()}, torch::kInt64)};
    world_.broadcast(header);
    if (header[0][0].item<int64_t>() == 0) {
        return;
    }
    std::vector<torch::Tensor> payload{
        world_.is_writer() ? bytes : torch::empty({header[0][1].item<int64_t>()}, torch::kUInt8)};
    world_.broadcast(payload);
    if (!world_.is_writer()) {
        local_->load_state(unpickled(payload[0]));
    }
    loaded_.reset();
}

}  // namespace lowbit::train
