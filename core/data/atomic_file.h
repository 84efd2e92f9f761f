// Crash-safe file replacement for shards, sidecars and tokenizer models: a reader sees either the
// old file or the complete new one, never a torn write (temporary file in the same folder,
// fsync, rename, fsync of the folder). Private to lowbit_data.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

namespace lowbit::data {

void write_file_atomically(const std::filesystem::path& path, std::span<const unsigned char> bytes);
void write_file_atomically(const std::filesystem::path& path, std::string_view text);
// fsyncs a folder so a rename or creation inside it survives a crash.
void sync_directory(const std::filesystem::path& dir);

}  // namespace lowbit::data
