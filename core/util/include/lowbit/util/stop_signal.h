// Cooperative stop on SIGTERM/SIGINT: the first signal sets a flag the training loop checks once
// per step (finish the step, checkpoint, mark the run stopped, exit 0). A second signal restores
// the default action and re-raises it, so the process dies at once (the run is then reconciled
// as `killed` the next time the workspace is opened for writing).
#pragma once

namespace lowbit::util {

void install_stop_handlers();
bool stop_requested();
int stop_signal_number();   // the signal that asked to stop, 0 if none
void reset_stop_request();  // for tests

}  // namespace lowbit::util
