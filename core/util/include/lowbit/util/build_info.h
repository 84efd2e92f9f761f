// Build and host information recorded with every run, so any number in the workspace can be
// traced to the binary, LibTorch and machine that produced it.
#pragma once

#include <string>

namespace lowbit::util {

std::string version_string();   // "0.1.0 (commit abc123, RelWithDebInfo)"
std::string build_info_json();  // {"version", "commit", "build_type", "torch", "cuda", "compiler"}
std::string host_name();

}  // namespace lowbit::util
