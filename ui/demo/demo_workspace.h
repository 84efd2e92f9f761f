// A sample workspace: synthetic runs written through lowbit_store's RunWriter exactly as the
// engine records them (recipe JSON, scalars, events, checkpoints, summary with the builtin:markov
// loss floor), for `lowbit-studio --demo --snapshot` and the GUI tests (the live demo, a real run,
// is demo_training.h). One completed baseline, one completed W8A8G8 run, one diverged W4 run (NaN
// losses at the end) and one `running` run whose engine pid is this process (alive while it runs;
// tests rewrite the pid to make it killed).
// Every 25 steps the runs also record telemetry (demo_telemetry.h).
#pragma once

#include <cstdint>
#include <filesystem>

namespace lowbit::ui {

struct DemoOptions {
    int64_t steps = 600;
    bool with_running_run = false;
};

// Creates (or adds to) the workspace at `root`. Returns the number of runs written.
int write_demo_workspace(const std::filesystem::path& root, const DemoOptions& options = {});

}  // namespace lowbit::ui
