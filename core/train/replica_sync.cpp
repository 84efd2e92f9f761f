// broadcast_training_state and check_replicas_identical (replica_sync.h).
#include "lowbit/train/replica_sync.h"

#include "lowbit/train/sharded_optimizer.h"

#include <string>

namespace lowbit::train {
namespace {

// Receives rank 0's values of `tensors` (contiguous copies travel; the originals are assigned
// with copy_ so that version counters, and with them the quantized-weight caches, see the
// change).
void broadcast_into(dist::World& world, const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> buffers;
    buffers.reserve(tensors.size());
    for (const torch::Tensor& t : tensors) {
        buffers.push_back(t.detach().contiguous().clone());
    }
    world.broadcast(buffers);
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        tensors[i].detach().copy_(buffers[i]);
    }
}

// Collective: whether every rank holds the same `values` (float64, (n,)). max(x) == -max(-x) over
// the ranks exactly when they agree, so one allreduce of the maximum answers it.
bool identical_on_all_ranks(dist::World& world, const torch::Tensor& values) {
    std::vector<torch::Tensor> both{torch::cat({values, -values})};  // (2n,)
    world.allreduce_max(both);
    const int64_t n = values.numel();
    return torch::equal(both[0].narrow(0, 0, n), -both[0].narrow(0, n, n));
}

// Every rank takes rank 0's optimizer state (each rank holds a complete one).
void broadcast_optimizer_state(dist::World& world, Optimizer& optimizer) {
    OptimizerState state = optimizer.state();
    // The counts first: a mismatch would otherwise pair unrelated buffers.
    if (!identical_on_all_ranks(
            world, torch::tensor({static_cast<double>(state.size())}, torch::kFloat64))) {
        throw dist::DistributedError(
            "rank " + std::to_string(world.rank()) +
            ": the ranks' optimizers hold different numbers of state tensors; every rank must "
            "build the same recipe");
    }
    std::vector<torch::Tensor> values;
    values.reserve(state.size());
    for (auto& [name, tensor] : state) {
        tensor = tensor.contiguous().clone();
        values.push_back(tensor);
    }
    world.broadcast(values);
    if (!world.is_writer()) {
        optimizer.load_state(state);
    }
}

}  // namespace

void broadcast_training_state(dist::World& world, RunContext& run) {
    if (world.size() == 1) {
        return;
    }
    broadcast_into(world, run.model->parameters());

    if (auto* sharded = dynamic_cast<ShardedOptimizer*>(run.optimizer.get())) {
        // Each rank holds only its share: a state rank 0 loaded is handed out share by share.
        sharded->share_loaded_state();
    } else {
        broadcast_optimizer_state(world, *run.optimizer);
    }

    NamedTensors rng = capture_rng_state(run.device);
    std::vector<torch::Tensor> rng_values;
    for (auto& [name, tensor] : rng) {
        tensor = tensor.contiguous().clone();
        rng_values.push_back(tensor);
    }
    world.broadcast(rng_values);
    if (!world.is_writer()) {
        restore_rng_state(rng, run.device);
    }
}

void check_replicas_identical(dist::World& world,
                              const std::vector<torch::Tensor>& parameters,
                              int64_t step) {
    if (world.size() == 1) {
        return;
    }
    torch::NoGradGuard no_grad;
    torch::Tensor sum = torch::zeros({}, torch::kFloat64);
    torch::Tensor sumsq = torch::zeros({}, torch::kFloat64);
    for (const torch::Tensor& p : parameters) {
        const torch::Tensor d = p.detach().to(torch::kFloat64);
        sum += d.sum().cpu();
        sumsq += d.square().sum().cpu();
    }
    if (!identical_on_all_ranks(world, torch::stack({sum, sumsq}))) {
        throw dist::DistributedError("rank " + std::to_string(world.rank()) +
                                     ": the replicas' weights differ after step " +
                                     std::to_string(step) +
                                     " (checksums compared across ranks); the ranks did not "
                                     "apply the same updates");
    }
}

}  // namespace lowbit::train
