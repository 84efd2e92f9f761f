// World: the ranks of a data-parallel job and the collectives the trainer needs, on PyTorch's
// c10d (TCPStore rendezvous; Gloo over TCP for CPU tensors, NCCL for CUDA tensors;
// docs/distributed.md §Process group). A World of one process performs every collective as the
// identity, so the training loop has one code path.
#pragma once

#include "lowbit/dist/launch_environment.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace c10d {
class Backend;
}

namespace lowbit::dist {

/// A collective or the rendezvous failed: a peer exited, the network failed, or the configured
/// timeout passed. The message names this rank and the operation.
class DistributedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Sets what c10d's NCCL group reads from the environment when it is built, unless the user set
/// it: blocking waits, so that a collective past its timeout throws a DistributedError instead of
/// NCCL's watchdog aborting the process. setenv is not safe while other threads read the
/// environment, so a program calls this at the start of main, while it has one thread; building
/// the NCCL group calls it again, which then changes nothing.
void set_collective_environment();

class World {
public:
    /// A single process.
    World();
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    /// Joins the job `env` describes: rank 0 hosts the TCPStore at MASTER_ADDR:MASTER_PORT
    /// (unless torchrun's agent does), then every rank connects a Gloo process group; the NCCL
    /// group follows at the first collective on CUDA tensors. Waiting for peers, and every later
    /// collective, fails with DistributedError after `timeout`.
    static std::unique_ptr<World> join(const LaunchEnvironment& env,
                                       std::chrono::milliseconds timeout);
    /// join() that builds the process groups for a job of one rank too, where join() returns a
    /// World without any: measures what the collectives themselves cost, and checks the NCCL
    /// group on a machine with a single GPU (NCCL refuses two ranks on one device).
    static std::unique_ptr<World> connect(const LaunchEnvironment& env,
                                          std::chrono::milliseconds timeout);

    int rank() const {
        return rank_;
    }

    int size() const {
        return size_;
    }

    /// Rank 0: the one process that writes the workspace and checkpoints.
    bool is_writer() const {
        return rank_ == 0;
    }

    /// In place: each tensor becomes the elementwise sum over the ranks, bit-identical on every
    /// rank. Tensors must be contiguous and alike (shape, dtype) on every rank, and one call's
    /// tensors all on the CPU (Gloo) or all on this rank's CUDA device (NCCL).
    void allreduce_sum(std::vector<torch::Tensor>& tensors);
    /// In place: the elementwise maximum over the ranks.
    void allreduce_max(std::vector<torch::Tensor>& tensors);
    /// Collective: true on every rank when `local` is true on any rank (a stop request that
    /// reached one process, say). One process: `local`.
    bool any(bool local);
    /// In place: every rank receives rank `root`'s values.
    void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);

    /// Personalised exchange: `input` (1-D, size()·n elements, contiguous) is cut into size()
    /// equal parts and part j goes to rank j; `output` (same shape and dtype) receives in part i
    /// what rank i sent to this rank. One process: output = input.
    void alltoall(const torch::Tensor& input, torch::Tensor& output);
    /// `output` (1-D, size()·n elements) receives every rank's `input` (1-D, n elements), rank i's
    /// in part i, identical on every rank.
    void allgather(const torch::Tensor& input, torch::Tensor& output);
    /// Rank 0 receives every rank's `bytes` (uint8, 1-D, any length; its own included) in rank
    /// order; the other ranks get an empty vector.
    std::vector<torch::Tensor> gather_bytes_to_writer(const torch::Tensor& bytes);
    /// The reverse: rank 0 hands `parts` (size() uint8 1-D tensors of any lengths, one per rank)
    /// out, and every rank receives its own part; the other ranks pass an empty vector. One
    /// process: parts[0].
    torch::Tensor scatter_bytes_from_writer(const std::vector<torch::Tensor>& parts);

    /// Rank 0 posts a text under `key`; fetch() on any rank waits for it (up to the timeout).
    void publish(const std::string& key, const std::string& value);
    std::string fetch(const std::string& key);

    /// The process group that collectives on tensors like `sample` use: "gloo" or "nccl" (its
    /// c10d name). Chooses the CUDA group if it is not chosen yet, so every rank calls it alike.
    /// One process: "none".
    std::string group_name_for(const torch::Tensor& sample);

    /// Bytes this rank handed to allreduce so far (payload, not wire bytes).
    int64_t allreduce_bytes() const {
        return allreduce_bytes_;
    }

private:
    void allreduce(std::vector<torch::Tensor>& tensors, bool maximum);
    /// The group for `tensors`' device: NCCL for CUDA tensors when the build has it and no two
    /// ranks share a GPU, else Gloo.
    c10d::Backend& group_for(const std::vector<torch::Tensor>& tensors);
    /// Collective: whether two ranks run on the same host and CUDA device.
    bool ranks_share_a_device(int cuda_device);

    struct Backend;
    std::unique_ptr<Backend> backend_;
    int rank_ = 0;
    int size_ = 1;
    int64_t allreduce_bytes_ = 0;
};

}  // namespace lowbit::dist
