// `lowbit train|qat --nproc-per-node N`: runs N ranks of one data-parallel job on this host, as
// torchrun would (docs/distributed.md §Launching).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace lowbit::app {

/// Remembers the command line, so the launcher can start the same command once per rank.
void remember_command_line(int argc, char** argv);

/// Starts this executable N times with the remembered arguments minus --nproc-per-node, each with
/// RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT
/// (and OMP_NUM_THREADS = usable cores / N unless set), forwards SIGINT/SIGTERM to all of them
/// and waits; a rank whose launcher dies gets SIGTERM. When a rank fails, the others get
/// `collective_timeout` plus a grace period to exit by themselves before they are killed.
/// Returns rank 0's exit code, or 1 when rank 0 ended otherwise than by exiting.
int run_local_ranks(int nproc, std::chrono::milliseconds collective_timeout);

}  // namespace lowbit::app
