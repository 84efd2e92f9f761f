// read_token_file (see token_file.h).
#include "lowbit/eval/token_file.h"

#include "lowbit/data/token_shard.h"
#include "lowbit/util/exit_codes.h"

#include <fstream>
#include <sstream>

namespace lowbit::eval {

std::vector<int64_t> read_token_file(const std::filesystem::path& file,
                                     const data::Tokenizer* tokenizer,
                                     int64_t vocab_size) {
    if (!std::filesystem::is_regular_file(file)) {
        throw util::BadInput(file.string() + ": no such file");
    }
    std::vector<int64_t> tokens;
    if (file.extension() == ".bin") {
        const auto shard = data::TokenShard::open(file, 2);
        tokens.resize(static_cast<size_t>(shard.size()));
        shard.copy_to(0, shard.size(), tokens.data());
    } else {
        if (tokenizer == nullptr) {
            throw util::BadInput(file.string() +
                                 ": the model has no tokenizer; give a .bin token file");
        }
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        for (uint32_t id : tokenizer->encode(text.str())) {
            tokens.push_back(id);
        }
    }
    for (int64_t id : tokens) {
        if (id < 0 || id >= vocab_size) {
            throw util::BadInput(file.string() + ": token id " + std::to_string(id) +
                                 " is outside the model's vocabulary (" +
                                 std::to_string(vocab_size) + ")");
        }
    }
    return tokens;
}

}  // namespace lowbit::eval
