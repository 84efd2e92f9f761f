// Process exit codes of the `lowbit` engine, shared by the CLI, the GUI and the tests.
#pragma once

#include <stdexcept>

namespace lowbit::util {

inline constexpr int kExitOk = 0;        // success or graceful stop
inline constexpr int kExitFailure = 1;   // runtime failure (I/O, CUDA, ...)
inline constexpr int kExitBadInput = 2;  // usage, recipe, data, corrupt file
inline constexpr int kExitDiverged = 3;  // NaN/Inf in loss or gradients

// An error caused by the user's input (names what and where); the CLI exits kExitBadInput.
class BadInput : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace lowbit::util
