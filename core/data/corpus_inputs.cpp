// Input expansion and document readers for corpus preparation. Files in a folder are sorted by
// path so the token stream, and hence the cache key and the split, never depend on the order
// the file system lists them in.
#include "corpus_inputs.h"

#include "lowbit/data/corpus.h"
#include "lowbit/data/data_error.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace lowbit::data {

namespace {

bool wanted_in_folder(const std::filesystem::path& file) {
    const std::string ext = file.extension().string();
    return ext == ".txt" || ext == ".jsonl" || ext == ".bin";
}

InputKind kind_for(const std::filesystem::path& file, config::DataFormat format) {
    switch (format) {
        case config::DataFormat::kText:
            return InputKind::kText;
        case config::DataFormat::kJsonl:
            return InputKind::kJsonl;
        case config::DataFormat::kTokens:
            return InputKind::kTokens;
        case config::DataFormat::kAuto:
            break;
    }
    const std::string ext = file.extension().string();
    if (ext == ".jsonl") {
        return InputKind::kJsonl;
    }
    if (ext == ".bin") {
        return InputKind::kTokens;
    }
    return InputKind::kText;
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw DataError(path.string() + ": cannot open for reading");
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t find_invalid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + len > s.size()) {
            return i;
        }
        for (size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        // Overlong forms, UTF-16 surrogates and values above U+10FFFF are not UTF-8.
        const uint32_t min_cp = len == 2 ? 0x80 : (len == 3 ? 0x800 : 0x10000);
        if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return i;
        }
        i += len;
    }
    return std::string_view::npos;
}

}  // namespace

void check_data_sources(const config::DataSpec& spec) {
    const auto require = [](const char* key, const std::string& entry) {
        std::error_code ec;
        if (entry != kMarkovInput && !std::filesystem::exists(entry, ec)) {
            throw DataError(std::string(key) + ": no such file or directory: " + entry);
        }
    };
    for (const std::string& entry : spec.train) {
        require("data.train", entry);
    }
    for (const std::string& entry : spec.val) {
        require("data.val", entry);
    }
    if (!spec.tokenizer_model.empty()) {
        require("data.tokenizer_model", spec.tokenizer_model);
    }
}

std::vector<InputFile> resolve_inputs(const std::vector<std::string>& entries,
                                      config::DataFormat format) {
    std::vector<InputFile> inputs;
    for (const std::string& entry : entries) {
        if (entry == kMarkovInput) {
            if (entries.size() != 1) {
                throw DataError(std::string(kMarkovInput) +
                                " must be the only data source, not mixed with " +
                                describe_entries(entries));
            }
            inputs.push_back({InputKind::kMarkov, {}});
            continue;
        }
        const std::filesystem::path path(entry);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            throw DataError("no such file or directory: " + entry);
        }
        const std::filesystem::path absolute = std::filesystem::absolute(path).lexically_normal();
        if (std::filesystem::is_directory(path)) {
            std::vector<std::filesystem::path> files;
            for (const auto& item : std::filesystem::recursive_directory_iterator(
                     absolute, std::filesystem::directory_options::follow_directory_symlink)) {
                if (item.is_regular_file() && wanted_in_folder(item.path())) {
                    files.push_back(item.path().lexically_normal());
                }
            }
            std::sort(files.begin(), files.end());
            for (const auto& file : files) {
                inputs.push_back({kind_for(file, format), file});
            }
        } else {
            inputs.push_back({kind_for(absolute, format), absolute});
        }
    }
    return inputs;
}

std::string read_text_file(const std::filesystem::path& path) {
    std::string text = read_all(path);
    if (const size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
        throw DataError(path.string() + ": invalid UTF-8 at byte offset " + std::to_string(bad) +
                        " (text inputs must be UTF-8)");
    }
    return text;
}

std::vector<std::string> read_jsonl_documents(const std::filesystem::path& path) {
    const std::string all = read_all(path);
    std::vector<std::string> documents;
    size_t line_number = 0;
    size_t start = 0;
    while (start < all.size()) {
        size_t end = all.find('\n', start);
        if (end == std::string::npos) {
            end = all.size();
        }
        ++line_number;
        const std::string_view line(all.data() + start, end - start);
        start = end + 1;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        const std::string where = path.string() + ":" + std::to_string(line_number);
        nlohmann::json record;
        try {
            record = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            throw DataError(where + ": not valid JSON (" + e.what() + ")");
        }
        if (!record.is_object()) {
            throw DataError(where + ": expected a JSON object with a \"text\" field");
        }
        const auto text = record.find("text");
        if (text == record.end()) {
            throw DataError(where + ": the object has no \"text\" field");
        }
        if (!text->is_string()) {
            throw DataError(where + ": the \"text\" field must be a string, not " +
                            std::string(text->type_name()));
        }
        documents.push_back(text->get<std::string>());
    }
    return documents;
}

std::string describe_entries(const std::vector<std::string>& entries) {
    std::string out;
    for (const auto& entry : entries) {
        out += (out.empty() ? "" : ", ") + entry;
    }
    return out.empty() ? "(no inputs)" : out;
}

}  // namespace lowbit::data
