// Reading an evaluation or calibration corpus as token ids: a `.bin` token shard as it is, any
// other file as UTF-8 text encoded with the model's tokenizer.
#pragma once

#include "lowbit/data/tokenizer.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace lowbit::eval {

// Throws util::BadInput naming the file when it does not exist, when a text file comes without a
// tokenizer, or when an id is not below vocab_size.
std::vector<int64_t> read_token_file(const std::filesystem::path& file,
                                     const data::Tokenizer* tokenizer,
                                     int64_t vocab_size);

}  // namespace lowbit::eval
