// Run liveness: a running run is judged by its pid on its own host (a reaped child and a zombie
// are gone, this process is alive) and by the heartbeat's age from another host; the writer
// records pid, host and a heartbeat that every write batch refreshes.
#include "lowbit/store/run_liveness.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <thread>

#include "store_test_util.h"
#include <sys/wait.h>
#include <unistd.h>

namespace lowbit::store {
namespace {

RunRecord running_run(int64_t pid, const std::string& host, double heartbeat_at) {
    RunRecord run;
    run.status = RunStatus::kRunning;
    run.pid = pid;
    run.host = host;
    run.heartbeat_at = heartbeat_at;
    return run;
}

// A child that exits at once; reaped when `reap`, else left a zombie until the caller reaps it.
pid_t exited_child(bool reap) {
    const pid_t pid = fork();
    if (pid == 0) {
        _exit(0);
    }
    if (reap) {
        waitpid(pid, nullptr, 0);
    } else {
        // Wait until the child has exited (it is a zombie: kill(pid, 0) still succeeds).
        siginfo_t info{};
        waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
    }
    return pid;
}

TEST(RunLivenessTest, SameHostAsksThePid) {
    const LivenessCheck here = LivenessCheck::here();
    EXPECT_FALSE(run_process_gone(running_run(getpid(), here.this_host, here.now), here));

    const pid_t reaped = exited_child(true);
    EXPECT_TRUE(run_process_gone(running_run(reaped, here.this_host, here.now), here));

    const pid_t zombie = exited_child(false);
    EXPECT_EQ(kill(zombie, 0), 0) << "the zombie still exists for kill()";
    EXPECT_TRUE(run_process_gone(running_run(zombie, here.this_host, here.now), here));
    waitpid(zombie, nullptr, 0);
}

TEST(RunLivenessTest, OtherHostTrustsTheHeartbeatUpToTheLimit) {
    LivenessCheck check;
    check.this_host = "workstation";
    check.now = 10'000;
    check.stale_after_s = 300;
    // The pid means nothing on another host: a dead local pid does not make it gone.
    const pid_t reaped = exited_child(true);
    EXPECT_FALSE(run_process_gone(running_run(reaped, "gpu-node", 10'000 - 299), check));
    EXPECT_TRUE(run_process_gone(running_run(reaped, "gpu-node", 10'000 - 301), check));
    EXPECT_EQ(observed_status(running_run(reaped, "gpu-node", 10'000 - 301), check),
              RunStatus::kKilled);
}

TEST(RunLivenessTest, OnlyRunningRunsWithAPidAreJudged) {
    const LivenessCheck here = LivenessCheck::here();
    const pid_t reaped = exited_child(true);
    RunRecord stopped = running_run(reaped, here.this_host, here.now);
    stopped.status = RunStatus::kStopped;
    EXPECT_FALSE(run_process_gone(stopped, here));
    EXPECT_EQ(observed_status(stopped, here), RunStatus::kStopped);
    RunRecord legacy = running_run(reaped, here.this_host, here.now);
    legacy.pid.reset();  // recorded before schema version 2
    EXPECT_FALSE(run_process_gone(legacy, here));
}

TEST(RunLivenessTest, WriterRecordsPidHostAndRefreshesTheHeartbeatWithEachBatch) {
    test::TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, /*batch_rows=*/2);
    const int64_t run = writer.create_run(RunRecord{});
    writer.attach_process(run);
    const RunRecord attached = *RunReader(ws).find_run(run);
    EXPECT_EQ(attached.pid, getpid());
    EXPECT_EQ(attached.host, LivenessCheck::here().this_host);
    ASSERT_TRUE(attached.heartbeat_at);

    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    writer.add_scalar({0, run, "train/loss", 1, 0, 0, 1.0});
    writer.add_scalar({0, run, "train/loss", 2, 0, 0, 1.0});  // the batch of 2 is committed
    const RunRecord after_batch = *RunReader(ws).find_run(run);
    ASSERT_TRUE(after_batch.heartbeat_at);
    EXPECT_GT(*after_batch.heartbeat_at, *attached.heartbeat_at);

    // heartbeat() writes only when the last one is older than the interval.
    writer.heartbeat(3600);
    EXPECT_EQ(RunReader(ws).find_run(run)->heartbeat_at, after_batch.heartbeat_at);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    writer.heartbeat(0.001);
    EXPECT_GT(*RunReader(ws).find_run(run)->heartbeat_at, *after_batch.heartbeat_at);
}

}  // namespace
}  // namespace lowbit::store
