// ShardedOptimizer: the optimizer state of a data-parallel job split across its ranks (ZeRO
// stage 1; docs/distributed.md §Sharded optimizer state). Every rank holds the complete model and
// the averaged gradients, but keeps moments (float32 or quantized) only for the parameters it
// owns, updates only those, and sends the updated values to every rank in one allgather. Each
// owned parameter takes exactly the update the unsharded optimizer would give it, so results are
// bit-identical; the state held per rank is about the total ÷ the number of ranks.
#pragma once

#include "lowbit/dist/world.h"
#include "lowbit/train/optimizer.h"
#include "lowbit/train/quantized_adamw.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::train {

/// Makes the (unsharded) optimizer of a list of parameters.
using OptimizerFactory =
    std::function<std::unique_ptr<Optimizer>(std::vector<QuantizedAdamWParam> parameters)>;

/// The rank that owns each item (in order), balancing the summed costs: items by decreasing cost
/// (ties: earlier first) each go to the rank with the least so far (ties: the lower rank). The
/// same answer on every rank.
std::vector<int> balance_owners(const std::vector<int64_t>& costs, int ranks);

/// Bytes of one parameter's two moments in their formats, scales aside: 4 per value in float32,
/// 1 for 5..8 bits, 1/2 for 2..4 bits (the costs balance_owners weighs).
int64_t moment_bytes(const QuantizedAdamWParam& parameter);

class ShardedOptimizer final : public Optimizer {
public:
    /// `parameters`: the model's in the same order on every rank, with their moment formats.
    /// `world` must outlive the optimizer.
    ShardedOptimizer(dist::World& world,
                     std::vector<QuantizedAdamWParam> parameters,
                     const OptimizerFactory& make_local);

    /// Collective: updates the owned parameters, then every rank receives the others'.
    void step(double lr) override;

    int64_t steps_taken() const override {
        return local_->steps_taken();
    }

    /// Collective (every rank must call it): the complete state, gathered on rank 0; the other
    /// ranks get their own share.
    OptimizerState state() const override;

    /// Local: takes the entries of the parameters this rank owns from a complete state. Rank 0
    /// also keeps the complete state until share_loaded_state() hands it to the others.
    void load_state(const OptimizerState& state) override;

    /// Collective: when rank 0 has loaded a state (resume, fork), every other rank takes its
    /// share of it; otherwise nothing happens.
    void share_loaded_state();

    /// Bytes of optimizer state this rank holds.
    int64_t state_bytes() const override {
        return local_->state_bytes();
    }

    /// The owning rank of each parameter, in the model's order.
    const std::vector<int>& owners() const {
        return owners_;
    }

    /// The optimizer of this rank's parameters.
    const Optimizer& local() const {
        return *local_;
    }

private:
    dist::World& world_;
    std::vector<torch::Tensor> parameters_;  // all, in order
    std::vector<std::string> names_;         // their names
    std::vector<int> owners_;
    int64_t largest_share_ = 0;  // elements of the largest rank's parameters
    std::unique_ptr<Optimizer> local_;
    std::optional<OptimizerState> loaded_;  // rank 0, until share_loaded_state()
};

}  // namespace lowbit::train
