// Internal: the "unknown key" message, with the nearest valid key by edit distance.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::config::detail {

// Nearest known key path (field or section) to `typed_path`, or "" when none is close.
std::string nearest_key(std::string_view typed_path);

// "unknown key 'train.lr_min'; did you mean 'train.min_lr'?" or, with no close key,
// "unknown key 'train.foo' (expected one of: steps, batch_size, ...)".
std::string unknown_key_message(std::string_view typed_path);

// The word of `candidates` nearest to `typed` by edit distance, or "" when none is close.
std::string nearest_word(std::string_view typed, const std::vector<std::string>& candidates);

// Splits "a.b.c" into its parent section "a.b" and key "c".
std::pair<std::string, std::string> split_key_path(std::string_view path);

}  // namespace lowbit::config::detail
