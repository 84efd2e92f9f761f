// The kernels' parallel backend (parallel.h): the built-in pool runs every task once, nests and
// competes without deadlock; an installed backend is the one the kernels use.
#include "lowbit/kernels/parallel.h"

#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

struct Counts {
    std::vector<std::atomic<int>> runs;
    std::set<std::thread::id> threads;
    std::mutex mutex;

    explicit Counts(std::size_t n) : runs(n) {}
};

void count_task(void* context, std::int64_t index) {
    auto& c = *static_cast<Counts*>(context);
    c.runs[static_cast<std::size_t>(index)].fetch_add(1);
    const std::lock_guard lock(c.mutex);
    c.threads.insert(std::this_thread::get_id());
}

TEST(ParallelBackend, EveryTaskRunsExactlyOncePassAfterPass) {
    for (int pass = 0; pass < 200; ++pass) {
        const std::int64_t tasks = 1 + pass % 37;
        Counts c(static_cast<std::size_t>(tasks));
        parallel_run(tasks, &c, count_task);
        for (std::int64_t i = 0; i < tasks; ++i) {
            ASSERT_EQ(c.runs[static_cast<std::size_t>(i)].load(), 1) << "pass " << pass;
        }
    }
    EXPECT_GE(parallel_threads(), 1);
}

// A task that starts a pass of its own: the inner pass runs on the task's thread.
TEST(ParallelBackend, NestedPassRunsInline) {
    struct Outer {
        std::vector<std::atomic<int>> inner_runs = std::vector<std::atomic<int>>(8 * 16);
    } outer;

    parallel_run(8, &outer, [](void* context, std::int64_t o) {
        auto& out = *static_cast<Outer*>(context);
        struct Inner {
            Outer* outer;
            std::int64_t o;
            std::thread::id thread;
            bool same_thread = true;
        } inner{&out, o, std::this_thread::get_id()};
        parallel_run(16, &inner, [](void* ctx, std::int64_t i) {
            auto& in = *static_cast<Inner*>(ctx);
            in.outer->inner_runs[static_cast<std::size_t>(in.o * 16 + i)].fetch_add(1);
            in.same_thread = in.same_thread && in.thread == std::this_thread::get_id();
        });
        EXPECT_TRUE(inner.same_thread);
    });
    for (const auto& r : outer.inner_runs) {
        EXPECT_EQ(r.load(), 1);
    }
}

// Two threads running kernels at once: one gets the pool, the other runs serially; both right.
TEST(ParallelBackend, ConcurrentCallersBothFinishCorrectly) {
    const std::int64_t rows = 64;
    const std::int64_t cols = 4096;
    const std::vector<float> x = test::random_normal(rows * cols, 3);
    FakeQuantParams p;
    p.granularity = Granularity::kPerChannel;
    std::vector<float> ref(x.size());
    ASSERT_EQ(fake_quant_ref(x.data(), rows, cols, p, ref.data(), nullptr, nullptr), Status::kOk);
    std::vector<std::vector<float>> outs(2, std::vector<float>(x.size()));
    std::vector<std::thread> callers;
    for (int t = 0; t < 2; ++t) {
        callers.emplace_back([&, t] {
            for (int rep = 0; rep < 50; ++rep) {
                EXPECT_EQ(fake_quant_cpu_parallel(
                              x.data(), rows, cols, p, outs[t].data(), nullptr, nullptr, 4),
                          Status::kOk);
            }
        });
    }
    for (auto& c : callers) {
        c.join();
    }
    EXPECT_TRUE(test::bits_equal(ref, outs[0]));
    EXPECT_TRUE(test::bits_equal(ref, outs[1]));
}

std::atomic<int> g_custom_runs{0};

void custom_run(std::int64_t tasks, void* context, ParallelTask task) {
    g_custom_runs.fetch_add(1);
    for (std::int64_t i = tasks - 1; i >= 0; --i) {  // reverse order: results must not care
        task(context, i);
    }
}

int custom_threads() {
    return 5;
}

TEST(ParallelBackend, InstalledBackendRunsTheKernelsUntilRestored) {
    const std::int64_t rows = 32;
    const std::int64_t cols = 8192;
    const std::vector<float> x = test::random_normal(rows * cols, 4);
    FakeQuantParams p;
    p.granularity = Granularity::kPerChannel;
    std::vector<float> ref(x.size()), out(x.size());
    ASSERT_EQ(fake_quant_ref(x.data(), rows, cols, p, ref.data(), nullptr, nullptr), Status::kOk);

    set_parallel_backend({custom_run, custom_threads});
    EXPECT_EQ(parallel_threads(), 5);
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), rows, cols, p, out.data(), nullptr, nullptr),
              Status::kOk);
    EXPECT_EQ(g_custom_runs.load(), 1);  // one region for whole rows
    EXPECT_TRUE(test::bits_equal(ref, out));

    set_parallel_backend({});  // the built-in pool again
    EXPECT_EQ(parallel_threads(),
              std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), rows, cols, p, out.data(), nullptr, nullptr),
              Status::kOk);
    EXPECT_EQ(g_custom_runs.load(), 1);
    EXPECT_TRUE(test::bits_equal(ref, out));
}

}  // namespace
}  // namespace lowbit::kernels
