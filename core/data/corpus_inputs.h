// Reading corpus inputs: expanding folders, choosing each file's format, reading UTF-8 text and
// JSONL documents, and the canonical description that keys the corpus cache. Private to
// lowbit_data (used by corpus.cpp and corpus_cache.cpp).
#pragma once

#include "lowbit/config/recipe.h"

#include <filesystem>
#include <string>
#include <vector>

namespace lowbit::data {

inline constexpr const char* kMarkovInput = "builtin:markov";

enum class InputKind { kMarkov, kText, kJsonl, kTokens };

struct InputFile {
    InputKind kind = InputKind::kText;
    std::filesystem::path path;  // absolute and normalised; empty for builtin:markov
};

// Expands entries (files, folders, or the single entry builtin:markov) in order; a folder
// contributes its *.txt, *.jsonl and *.bin files recursively, sorted by path. Throws DataError
// for a missing path ("no such file or directory: <path>").
std::vector<InputFile> resolve_inputs(const std::vector<std::string>& entries,
                                      config::DataFormat format);

// A text file's contents; DataError naming the byte offset of invalid UTF-8.
std::string read_text_file(const std::filesystem::path& path);
// The "text" field of every JSONL line (blank lines skipped); DataError naming file:line.
std::vector<std::string> read_jsonl_documents(const std::filesystem::path& path);

// Comma-separated list of the entries for error messages.
std::string describe_entries(const std::vector<std::string>& entries);

}  // namespace lowbit::data
