// The sinks of the run-event stream that show progress: a bar with ETA and tokens/s on a
// terminal, JSON lines on stdout for the studio (`--progress jsonl`, docs/progress-events.md),
// plain log lines when stderr is not a terminal, or nothing.
#pragma once

#include "lowbit/events/run_event_stream.h"

#include <memory>
#include <string>

namespace lowbit::train {

enum class ProgressMode { kAuto, kBar, kJsonl, kNone };
ProgressMode progress_mode_from_string(const std::string& text);  // throws std::invalid_argument

std::unique_ptr<events::RunEventSink> make_progress_sink(ProgressMode mode);

}  // namespace lowbit::train
