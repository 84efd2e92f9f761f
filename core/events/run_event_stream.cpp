// RunEventStream: fan-out of each run event to the subscribed sinks.
#include "lowbit/events/run_event_stream.h"

#include <chrono>
#include <utility>

namespace lowbit::events {

void RunEventStream::subscribe(RunEventSink& sink) {
    sinks_.push_back(&sink);
}

void RunEventStream::emit(int64_t step, Body body) {
    emit(RunEvent{.step = step, .time = 0, .body = std::move(body)});
}

void RunEventStream::emit(RunEvent event) {
    if (event.time == 0) {
        event.time =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
    }
    for (RunEventSink* sink : sinks_) {
        sink->on_event(event);
    }
}

}  // namespace lowbit::events
