// The engine's CPU kernels run on LibTorch's intra-op pool (docs/kernels.md §Threads): after
// util::kernel_threads() a kernel pass spreads its tasks over LibTorch's threads, concurrently,
// and a kernel called from inside a LibTorch parallel region runs inline instead of waiting.
#include "lowbit/util/kernel_threads.h"

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/parallel.h"
#include "lowbit/quant/fake_quantize.h"

#include <ATen/Parallel.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace lowbit::util {
namespace {

// Every task waits (up to 10 s) until all tasks have started: only a pass that really runs its
// tasks at the same time finishes with met == true.
struct Rendezvous {
    std::int64_t tasks = 0;
    std::atomic<std::int64_t> arrived{0};
    std::atomic<bool> met{true};
    std::vector<int> thread_nums;
};

void meet(void* context, std::int64_t index) {
    auto& r = *static_cast<Rendezvous*>(context);
    r.thread_nums[static_cast<std::size_t>(index)] = at::get_thread_num();
    r.arrived.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (r.arrived.load() < r.tasks) {
        if (std::chrono::steady_clock::now() > deadline) {
            r.met.store(false);
            return;
        }
        std::this_thread::yield();
    }
}

TEST(KernelThreads, KernelPassesRunConcurrentlyOnLibTorchsThreads) {
    at::set_num_threads(2);
    EXPECT_EQ(kernel_threads(), 2);
    EXPECT_EQ(kernels::parallel_threads(), 2);
    Rendezvous r;
    r.tasks = 2;
    r.thread_nums.assign(2, -1);
    kernels::parallel_run(2, &r, meet);
    EXPECT_TRUE(r.met.load()) << "the two tasks did not run at the same time";
    // LibTorch's own thread numbers: the tasks ran inside its parallel region, one per thread.
    EXPECT_EQ(std::set<int>(r.thread_nums.begin(), r.thread_nums.end()), (std::set<int>{0, 1}));
}

TEST(KernelThreads, KernelInsideALibTorchParallelRegionRunsInline) {
    at::set_num_threads(2);
    kernel_threads();
    const torch::Tensor x = torch::randn({8, 256, 64});
    kernels::FakeQuantParams p;
    p.granularity = kernels::Granularity::kPerChannel;
    std::vector<torch::Tensor> outs(8);
    at::parallel_for(0, 8, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            outs[static_cast<std::size_t>(i)] = quant::fake_quantize(x[i], p);
        }
    });
    for (std::int64_t i = 0; i < 8; ++i) {
        EXPECT_TRUE(torch::equal(outs[static_cast<std::size_t>(i)], quant::fake_quantize(x[i], p)));
    }
}

}  // namespace
}  // namespace lowbit::util
