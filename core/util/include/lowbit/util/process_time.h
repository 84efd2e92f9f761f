// CPU time of this process, recorded beside wall time in a run's summary: on a machine shared
// with other work the wall time of a run says how busy the machine was, its CPU time what the
// run itself cost.
#pragma once

namespace lowbit::util {

// User + system seconds of every thread of this process so far.
double process_cpu_seconds();

}  // namespace lowbit::util
