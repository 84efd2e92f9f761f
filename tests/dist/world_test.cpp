// World on Gloo with two ranks as two threads of this process over loopback: sums and maxima
// against hand-computed values, bit-identical on both ranks; broadcast; the store; and a rank that
// never joins the collective makes the other fail within the timeout instead of hanging. Running
// at all checks that Debian's Gloo headers agree with the Gloo inside libtorch_cpu.so.
#include "lowbit/dist/world.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "dist_test_util.h"

namespace lowbit::dist {
namespace {

TEST(World, OneProcessCollectivesAreIdentity) {
    World world;
    EXPECT_EQ(world.size(), 1);
    EXPECT_TRUE(world.is_writer());
    std::vector<torch::Tensor> t{torch::tensor({1.5f, -2.0f})};
    world.allreduce_sum(t);
    world.broadcast(t);
    world.allreduce_max(t);
    EXPECT_TRUE(torch::equal(t[0], torch::tensor({1.5f, -2.0f})));
}

TEST(World, ConnectBuildsAGlooGroupForOneRankWhereJoinBuildsNone) {
    LaunchEnvironment env;  // one rank
    env.master_port = testing::free_loopback_port();
    const torch::Tensor sample = torch::zeros({1});
    EXPECT_EQ(World::join(env, std::chrono::seconds(30))->group_name_for(sample), "none");
    const std::unique_ptr<World> connected = World::connect(env, std::chrono::seconds(30));
    EXPECT_EQ(connected->group_name_for(sample), "gloo");
    std::vector<torch::Tensor> t{torch::tensor({1.5f, -2.0f})};
    connected->allreduce_sum(t);
    EXPECT_TRUE(torch::equal(t[0], torch::tensor({1.5f, -2.0f})));
}

TEST(World, AllreduceSumAndMaxAcrossTwoRanks) {
    std::vector<torch::Tensor> sums(2), maxima(2);
    run_two_ranks([&](World& world) {
        const int r = world.rank();
        // rank 0: [1, 2.5, -4], rank 1: [10, 0.25, 3]
        std::vector<torch::Tensor> a{r == 0 ? torch::tensor({1.0f, 2.5f, -4.0f})
                                            : torch::tensor({10.0f, 0.25f, 3.0f})};
        world.allreduce_sum(a);
        sums[static_cast<std::size_t>(r)] = a[0];
        std::vector<torch::Tensor> b{r == 0 ? torch::tensor({1.0, -7.0})
                                            : torch::tensor({-1.0, 2.0})};
        world.allreduce_max(b);
        maxima[static_cast<std::size_t>(r)] = b[0];
        EXPECT_EQ(world.allreduce_bytes(), 3 * 4);
    });
    for (int r = 0; r < 2; ++r) {
        EXPECT_TRUE(
            torch::equal(sums[static_cast<std::size_t>(r)], torch::tensor({11.0f, 2.75f, -1.0f})));
        EXPECT_TRUE(torch::equal(maxima[static_cast<std::size_t>(r)], torch::tensor({1.0, 2.0})));
    }
}

TEST(World, BroadcastGivesRankZerosValuesOfEveryDtype) {
    std::vector<std::vector<torch::Tensor>> received(2);
    run_two_ranks([&](World& world) {
        const bool root = world.rank() == 0;
        std::vector<torch::Tensor> t{
            root ? torch::arange(6, torch::kFloat32).reshape({2, 3}) : torch::zeros({2, 3}),
            root ? torch::tensor({7}, torch::kInt64) : torch::tensor({0}, torch::kInt64),
            root ? torch::tensor({200, 3}, torch::kUInt8) : torch::tensor({0, 0}, torch::kUInt8)};
        world.broadcast(t);
        received[static_cast<std::size_t>(world.rank())] = t;
    });
    for (const auto& t : received) {
        EXPECT_TRUE(torch::equal(t[0], torch::arange(6, torch::kFloat32).reshape({2, 3})));
        EXPECT_EQ(t[1].item<int64_t>(), 7);
        EXPECT_TRUE(torch::equal(t[2], torch::tensor({200, 3}, torch::kUInt8)));
    }
}

TEST(World, AllToAllAllgatherAndGatherMoveEachPartWhereItBelongs) {
    std::vector<torch::Tensor> exchanged(2), gathered(2), broadcast(2);
    std::vector<std::vector<torch::Tensor>> to_writer(2);
    run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        // rank r sends [10r, 10r + 1] to rank 0 and [10r + 2, 10r + 3] to rank 1.
        const torch::Tensor send = torch::arange(4, torch::kUInt8) + 10 * world.rank();
        torch::Tensor received = torch::empty_like(send);
        world.alltoall(send, received);
        exchanged[r] = received;
        torch::Tensor all = torch::empty({4}, torch::kFloat32);
        world.allgather(torch::tensor({0.5f, 1.0f}) * (world.rank() + 1), all);
        gathered[r] = all;
        // Rank 1 sends the longer string: the gather handles unequal lengths.
        to_writer[r] = world.gather_bytes_to_writer(
            world.rank() == 0 ? torch::tensor({7}, torch::kUInt8)
                              : torch::tensor({8, 9, 250}, torch::kUInt8));
        std::vector<torch::Tensor> from_one{torch::full({2}, static_cast<double>(world.rank()))};
        world.broadcast(from_one, 1);
        broadcast[r] = from_one[0];
    });
    EXPECT_TRUE(torch::equal(exchanged[0], torch::tensor({0, 1, 10, 11}, torch::kUInt8)));
    EXPECT_TRUE(torch::equal(exchanged[1], torch::tensor({2, 3, 12, 13}, torch::kUInt8)));
    for (std::size_t r = 0; r < 2; ++r) {
        EXPECT_TRUE(torch::equal(gathered[r], torch::tensor({0.5f, 1.0f, 1.0f, 2.0f})));
        EXPECT_TRUE(torch::equal(broadcast[r], torch::full({2}, 1.0)));
    }
    ASSERT_EQ(to_writer[0].size(), 2u);
    EXPECT_TRUE(torch::equal(to_writer[0][0], torch::tensor({7}, torch::kUInt8)));
    EXPECT_TRUE(torch::equal(to_writer[0][1], torch::tensor({8, 9, 250}, torch::kUInt8)));
    EXPECT_TRUE(to_writer[1].empty());
}

TEST(World, ScatterFromTheWriterHandsEachRankItsPartOfAnyLength) {
    std::vector<torch::Tensor> mine(2), empty_parts(2);
    run_two_ranks([&](World& world) {
        const auto r = static_cast<std::size_t>(world.rank());
        const std::vector<torch::Tensor> parts =
            world.is_writer()
                ? std::vector<torch::Tensor>{torch::tensor({1, 2}, torch::kUInt8),
                                             torch::tensor({3, 4, 255}, torch::kUInt8)}
                : std::vector<torch::Tensor>{};
        mine[r] = world.scatter_bytes_from_writer(parts);
        // Empty parts, as a resume without memory to hand out sends.
        const std::vector<torch::Tensor> none =
            world.is_writer() ? std::vector<torch::Tensor>(2, torch::empty({0}, torch::kUInt8))
                              : std::vector<torch::Tensor>{};
        empty_parts[r] = world.scatter_bytes_from_writer(none);
    });
    EXPECT_TRUE(torch::equal(mine[0], torch::tensor({1, 2}, torch::kUInt8)));
    EXPECT_TRUE(torch::equal(mine[1], torch::tensor({3, 4, 255}, torch::kUInt8)));
    EXPECT_EQ(empty_parts[0].numel(), 0);
    EXPECT_EQ(empty_parts[1].numel(), 0);
    World one;
    EXPECT_TRUE(torch::equal(one.scatter_bytes_from_writer({torch::tensor({9}, torch::kUInt8)}),
                             torch::tensor({9}, torch::kUInt8)));
}

TEST(World, RankZeroPublishesTextForTheOthers) {
    std::string seen;
    run_two_ranks([&](World& world) {
        if (world.is_writer()) {
            world.publish("greeting", "{\"run_id\": 4}");
        } else {
            seen = world.fetch("greeting");
        }
    });
    EXPECT_EQ(seen, "{\"run_id\": 4}");
}

// Rank 0 waits in an allreduce that rank 1 never joins, either because it exits (its
// connections close) or because it stalls past the timeout; rank 0 must fail, not hang. Rank 1
// leaves only once rank 0 has finished joining (a key in the store, not a collective): a peer
// that left during the rendezvous would fail the join instead of the allreduce.
std::pair<std::string, double> allreduce_without_peer(bool peer_stalls) {
    std::string error;
    double seconds = 0;
    run_two_ranks(
        [&](World& world) {
            if (world.rank() == 0) {
                world.publish("rank 0 joined", "yes");
            } else {
                (void)world.fetch("rank 0 joined");
                if (peer_stalls) {
                    std::this_thread::sleep_for(std::chrono::seconds(6));
                }
                return;
            }
            std::vector<torch::Tensor> t{torch::ones({4})};
            const auto start = std::chrono::steady_clock::now();
            try {
                world.allreduce_sum(t);
            } catch (const DistributedError& e) {
                error = e.what();
            }
            seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        },
        std::chrono::seconds(1));
    return {error, seconds};
}

TEST(World, AnExitedPeerFailsTheCollective) {
    const auto [error, seconds] = allreduce_without_peer(false);
    EXPECT_NE(error.find("rank 0 of 2: allreduce failed"), std::string::npos) << error;
    EXPECT_LT(seconds, 5.0);
}

TEST(World, AStalledPeerFailsTheCollectiveAfterTheTimeout) {
    const auto [error, seconds] = allreduce_without_peer(true);
    EXPECT_NE(error.find("rank 0 of 2: allreduce failed"), std::string::npos) << error;
    EXPECT_GE(seconds, 0.9);  // the 1 s timeout, not an early failure
    EXPECT_LT(seconds, 5.0);  // and well before the peer wakes up at 6 s
}

}  // namespace
}  // namespace lowbit::dist
