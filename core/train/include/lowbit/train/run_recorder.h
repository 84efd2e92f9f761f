// RunRecorder: the workspace's subscriber to a run's event stream. It turns each event into the
// rows that record it: scalars for logged steps and evaluations, a checkpoint row, an events row
// for every lifecycle event (started, resumed, checkpoint, and the end of the run), and the run's
// status. The engine emits each event once; this is the only code that records them.
#pragma once

#include "lowbit/events/run_event_stream.h"
#include "lowbit/store/run_writer.h"

#include <cstdint>

namespace lowbit::train {

// The status a run has after a terminal event (events::ends_run): completed, stopped, diverged or
// failed.
store::RunStatus status_after(const events::Body& terminal);

class RunRecorder : public events::RunEventSink {
public:
    RunRecorder(store::RunWriter& writer, int64_t run_id) : writer_(writer), run_id_(run_id) {}

    void on_event(const events::RunEvent& event) override;

private:
    void add_scalar(const char* key, int64_t step, int64_t tokens, double elapsed, double value);
    void add_event_row(const events::RunEvent& event);

    store::RunWriter& writer_;
    int64_t run_id_;
};

}  // namespace lowbit::train
