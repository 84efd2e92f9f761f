// make_nccl_group (cuda_group.h) with NCCL. The only file that includes ProcessGroupNCCL.hpp: it
// needs nccl.h, which the build takes from the PyTorch wheel's nvidia/nccl package, the NCCL that
// libtorch_cuda.so loads. tests/dist's gpu suite is the check that the two agree.
#include "lowbit/dist/world.h"

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdlib>

#include "cuda_group.h"

namespace lowbit::dist {

bool have_nccl() {
    return true;
}

c10::intrusive_ptr<c10d::Backend> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  int rank,
                                                  int size,
                                                  std::chrono::milliseconds timeout) {
    // Blocking waits turn a collective that outlives the timeout into an exception on the waiting
    // thread (which marks the run failed on rank 0). Without them NCCL's watchdog would kill the
    // process. The group reads the variable when it is built; `lowbit` has set it already.
    set_collective_environment();
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}

}  // namespace lowbit::dist
