// LaunchEnvironment: where this process sits in a data-parallel job, read from the variables that
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and Slurm's srun
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) set (docs/distributed.md §Launching).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace lowbit::dist {

struct LaunchEnvironment {
    int rank = 0;
    int world_size = 1;
    int local_rank = 0;  // selects the CUDA device on a node with several
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    // torchrun's agent already hosts the rendezvous store: every rank joins it as a client.
    bool agent_store = false;
    std::string launcher = "none";  // "none", "torchrun" (or any RANK/WORLD_SIZE), "slurm"

    bool distributed() const {
        return world_size > 1;
    }

    /// The CUDA device this rank takes on a node with `device_count` of them: one per local rank,
    /// wrapping around when there are more local ranks than devices.
    int cuda_device(int device_count) const {
        return device_count > 0 ? local_rank % device_count : 0;
    }
};

/// The value of an environment variable, or nullopt when it is unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;

/// Reads the launch variables through `lookup`. WORLD_SIZE (torchrun's set) takes precedence over
/// SLURM_NTASKS; neither set: a single process. Throws util::BadInput naming the variable when a
/// value is malformed or inconsistent, or when a multi-rank job lacks MASTER_ADDR.
LaunchEnvironment read_launch_environment(const EnvironmentLookup& lookup);

/// read_launch_environment over this process's environment.
LaunchEnvironment launch_environment_of_process();

}  // namespace lowbit::dist
