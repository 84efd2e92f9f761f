// DataError: bad input in a corpus, token shard or tokenizer. The message names the file and,
// where it applies, the byte offset or line, and what was expected (CLI exit code 2).
#pragma once

#include <stdexcept>
#include <string>

namespace lowbit::data {

class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace lowbit::data
