// The start of a data-parallel run (docs/distributed.md §Start): rank 0 checks the input and
// records the run, then posts what the other ranks need to follow it (a JSON object), or the error
// that kept it from starting, under a key of the store; every other rank waits for that post.
#pragma once

#include "lowbit/dist/world.h"

#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::dist {

/// Rank 0: the run started; `content` is what the other ranks build theirs from.
void post_run_start(World& world, const std::string& key, const nlohmann::json& content);

/// Rank 0: the run could not start (bad input, a corrupt file); the other ranks give up.
void post_run_failure(World& world, const std::string& key, const std::string& error);

/// Any other rank: waits (up to the world's timeout) for rank 0's post under `key` and returns
/// it; throws DistributedError naming this rank and rank 0's error when rank 0 failed.
nlohmann::json fetch_run_start(World& world, const std::string& key);

}  // namespace lowbit::dist
