// kernel_threads: LibTorch's at::parallel_for as the kernels' ParallelBackend.
#include "lowbit/util/kernel_threads.h"

#include "lowbit/kernels/parallel.h"

#include <ATen/Parallel.h>

namespace lowbit::util {
namespace {

// One task per index; at::parallel_for hands each pool thread a contiguous run of indices and
// runs inline when called from inside a parallel region.
void run_on_intra_op_pool(std::int64_t tasks, void* context, kernels::ParallelTask task) {
    at::parallel_for(0, tasks, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            task(context, i);
        }
    });
}

int intra_op_threads() {
    return at::get_num_threads();
}

}  // namespace

int kernel_threads() {
    static const bool installed = [] {
        kernels::set_parallel_backend({run_on_intra_op_pool, intra_op_threads});
        return true;
    }();
    (void)installed;
    return at::get_num_threads();
}

}  // namespace lowbit::util
