// RunEventStream: the one place the engine emits run events; every subscriber receives each
// event once, in subscription order. Not thread-safe: emit from the training thread.
#pragma once

#include "lowbit/events/run_event.h"

#include <vector>

namespace lowbit::events {

class RunEventSink {
public:
    virtual ~RunEventSink() = default;
    virtual void on_event(const RunEvent& event) = 0;
};

class RunEventStream {
public:
    void subscribe(RunEventSink& sink);  // not owned; must outlive the stream's use
    // Stamps `time` (unix seconds now) when it is 0, then delivers to every sink.
    void emit(int64_t step, Body body);
    void emit(RunEvent event);

private:
    std::vector<RunEventSink*> sinks_;
};

}  // namespace lowbit::events
