// World's collectives on CUDA tensors: NCCL when the build has it, beside Gloo for CPU tensors in
// the same World. On one GPU a World of one rank (NCCL refuses two ranks on one device): sums,
// maxima, broadcast, all-to-all and allgather must give the hand-worked values of a one-rank job
// and leave the tensors on the GPU; two ranks on that one GPU fall back to Gloo. With two GPUs,
// two ranks as threads on NCCL against hand-computed sums. Running at all checks that the build's
// nccl.h agrees with the NCCL in libtorch_cuda.so. Reports SKIPPED without a CUDA device.
#include "lowbit/dist/world.h"

#include <gtest/gtest.h>

#include "../support/cuda_device.h"
#include "../support/loopback_port.h"
#include "dist_test_util.h"

namespace lowbit::dist {
namespace {

using testing::have_cuda;

std::unique_ptr<World> one_rank_world() {
    LaunchEnvironment env;
    env.master_port = testing::free_loopback_port();
    return World::connect(env, std::chrono::seconds(60));
}

TEST(WorldOnGpu, OneRankCollectivesOnCudaTensorsUseNcclAndKeepTheirValues) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    const std::unique_ptr<World> world = one_rank_world();
    const torch::Device gpu(torch::kCUDA, 0);
    std::vector<torch::Tensor> sums{torch::tensor({1.5f, -2.0f, 4.0f}).to(gpu)};
    world->allreduce_sum(sums);
    EXPECT_EQ(world->group_name_for(sums[0]), "nccl");
    EXPECT_TRUE(sums[0].is_cuda());
    EXPECT_TRUE(torch::equal(sums[0].cpu(), torch::tensor({1.5f, -2.0f, 4.0f})));

    std::vector<torch::Tensor> maxima{torch::tensor({-3.0, 7.0}, torch::kFloat64).to(gpu)};
    world->allreduce_max(maxima);
    EXPECT_TRUE(torch::equal(maxima[0].cpu(), torch::tensor({-3.0, 7.0}, torch::kFloat64)));

    // Mixed dtypes and devices in one broadcast: one call per tensor, each on its own group.
    std::vector<torch::Tensor> mixed{torch::arange(6, torch::kFloat32).to(gpu),
                                     torch::tensor({200, 3}, torch::kUInt8)};
    world->broadcast(mixed);
    EXPECT_TRUE(torch::equal(mixed[0].cpu(), torch::arange(6, torch::kFloat32)));
    EXPECT_FALSE(mixed[1].is_cuda());
    EXPECT_TRUE(torch::equal(mixed[1], torch::tensor({200, 3}, torch::kUInt8)));

    const torch::Tensor bytes = torch::arange(8, torch::kUInt8).to(gpu);
    torch::Tensor received = torch::zeros_like(bytes);
    world->alltoall(bytes, received);
    EXPECT_TRUE(torch::equal(received.cpu(), torch::arange(8, torch::kUInt8)));
    torch::Tensor gathered = torch::zeros_like(bytes);
    world->allgather(bytes, gathered);
    EXPECT_TRUE(torch::equal(gathered.cpu(), torch::arange(8, torch::kUInt8)));

    // CPU tensors keep going through Gloo.
    std::vector<torch::Tensor> on_cpu{torch::tensor({2.0f})};
    world->allreduce_sum(on_cpu);
    EXPECT_EQ(world->group_name_for(on_cpu[0]), "gloo");
    EXPECT_TRUE(torch::equal(on_cpu[0], torch::tensor({2.0f})));
    EXPECT_TRUE(world->any(true));
    EXPECT_FALSE(world->any(false));
}

TEST(WorldOnGpu, TwoRanksOnOneDeviceSumThroughGlooBecauseNcclRefusesThem) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    std::vector<torch::Tensor> sums(2);
    run_two_ranks([&](World& world) {
        const int r = world.rank();
        std::vector<torch::Tensor> a{
            (r == 0 ? torch::tensor({1.0f, 2.5f}) : torch::tensor({10.0f, 0.25f}))
                .to(torch::kCUDA)};
        world.allreduce_sum(a);
        EXPECT_EQ(world.group_name_for(a[0]), "gloo");
        sums[static_cast<std::size_t>(r)] = a[0].cpu();
    });
    for (const torch::Tensor& s : sums) {
        EXPECT_TRUE(torch::equal(s, torch::tensor({11.0f, 2.75f})));
    }
}

TEST(WorldOnGpu, TwoRanksOnTwoDevicesSumTheirCudaTensors) {
    if (!have_cuda() || torch::cuda::device_count() < 2) {
        GTEST_SKIP() << "needs two CUDA devices";
    }
    std::vector<torch::Tensor> sums(2);
    run_two_ranks([&](World& world) {
        const int r = world.rank();
        const torch::Device gpu(torch::kCUDA, r);
        // rank 0: [1, 2.5, -4], rank 1: [10, 0.25, 3]
        std::vector<torch::Tensor> a{
            (r == 0 ? torch::tensor({1.0f, 2.5f, -4.0f}) : torch::tensor({10.0f, 0.25f, 3.0f}))
                .to(gpu)};
        world.allreduce_sum(a);
        EXPECT_EQ(world.group_name_for(a[0]), "nccl");
        sums[static_cast<std::size_t>(r)] = a[0].cpu();
    });
    for (const torch::Tensor& s : sums) {
        EXPECT_TRUE(torch::equal(s, torch::tensor({11.0f, 2.75f, -1.0f})));
    }
}

}  // namespace
}  // namespace lowbit::dist
