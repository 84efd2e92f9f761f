// The process group for CUDA tensors (docs/distributed.md §Process group). Private to core/dist:
// world.cpp creates it the first time a collective is handed CUDA tensors.
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

namespace lowbit::dist {

/// Whether this build has NCCL (LibTorch with CUDA and NCCL's headers at build time). Without it
/// CUDA tensors go through the Gloo group, as CPU tensors do.
bool have_nccl();

/// An NCCL process group over `store` (a prefix of its own: NCCL's keys must not meet Gloo's).
/// Collectives block the calling thread until they are done and throw after `timeout`, so that a
/// dead peer ends in the same DistributedError as on Gloo instead of NCCL's watchdog aborting the
/// process. Only when have_nccl().
c10::intrusive_ptr<c10d::Backend> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  int rank,
                                                  int size,
                                                  std::chrono::milliseconds timeout);

}  // namespace lowbit::dist
