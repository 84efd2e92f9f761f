// Checkpoint writing and verified reading (see checkpoint.h).
#include "lowbit/train/checkpoint.h"

#include "lowbit/data/sha256.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifestFormat = "lowbit-checkpoint-1";

void fsync_path(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        throw std::runtime_error("cannot open " + path.string() + " to sync it to disk");
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        throw std::runtime_error("cannot sync " + path.string() + " to disk (disk full?)");
    }
}

void write_text_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path.string() + " (disk full?)");
    }
}

std::string read_text_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw util::BadInput("cannot read " + path.string());
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace

fs::path checkpoint_dir_name(const fs::path& run_dir, int64_t step) {
    char name[32];
    std::snprintf(name, sizeof(name), "step-%07lld", static_cast<long long>(step));
    return run_dir / "checkpoints" / name;
}

WrittenCheckpoint write_checkpoint(const fs::path& final_dir,
                                   const CheckpointContent& content,
                                   const fs::path& tokenizer_model_source) {
    const fs::path parent = final_dir.parent_path();
    fs::create_directories(parent);
    const fs::path tmp = parent / (final_dir.filename().string() + ".tmp-" +
                                   std::to_string(static_cast<long long>(::getpid())));
    fs::remove_all(tmp);
    fs::create_directories(tmp);

    io::save_safetensors(tmp / "model.safetensors", content.model);
    if (!content.optimizer.empty()) {
        io::save_safetensors(tmp / "optimizer.safetensors", content.optimizer);
    }
    if (!content.rng.empty()) {
        io::save_safetensors(tmp / "rng.safetensors", content.rng);
    }
    if (!content.gradient_feedback.empty()) {
        io::save_safetensors(tmp / "gradient_feedback.safetensors", content.gradient_feedback);
    }
    nlohmann::json state;
    state["step"] = content.step;
    state["tokens_seen"] = content.tokens_seen;
    state["wall_time"] = content.wall_time;
    state["model_config"] = content.model_config;
    state["tokenizer"] = content.tokenizer;
    state["extra"] = content.extra;
    write_text_file(tmp / "state.json", state.dump(2));
    if (!tokenizer_model_source.empty()) {
        fs::copy_file(tokenizer_model_source, tmp / "tokenizer.model");
    }

    nlohmann::json manifest;
    manifest["format"] = kManifestFormat;
    int64_t total_bytes = 0;
    for (const auto& entry : fs::directory_iterator(tmp)) {
        const auto bytes = static_cast<int64_t>(fs::file_size(entry.path()));
        fsync_path(entry.path());
        manifest["files"][entry.path().filename().string()] = {
            {"bytes", bytes}, {"sha256", data::sha256_file(entry.path())}};
        total_bytes += bytes;
    }
    const std::string manifest_text = manifest.dump(2);
    write_text_file(tmp / "manifest.json", manifest_text);
    fsync_path(tmp / "manifest.json");
    fsync_path(tmp);
    if (fs::exists(final_dir)) {
        // A previous attempt at the same step (a resumed run re-reaching it): replace it.
        fs::remove_all(final_dir);
    }
    fs::rename(tmp, final_dir);
    fsync_path(parent);

    WrittenCheckpoint written;
    written.dir = final_dir;
    written.bytes = total_bytes + static_cast<int64_t>(manifest_text.size());
    written.manifest_sha256 = data::sha256_hex(std::span<const unsigned char>(
        reinterpret_cast<const unsigned char*>(manifest_text.data()), manifest_text.size()));
    return written;
}

CheckpointContent read_checkpoint(const fs::path& dir,
                                  const std::optional<std::string>& expected_manifest_sha256,
                                  bool load_optimizer) {
    const fs::path manifest_path = dir / "manifest.json";
    if (!fs::is_directory(dir)) {
        throw util::BadInput("checkpoint " + dir.string() + " does not exist");
    }
    if (!fs::exists(manifest_path)) {
        throw util::BadInput("checkpoint " + dir.string() +
                             " has no manifest.json: it is incomplete or not a Lowbit checkpoint");
    }
    const std::string manifest_text = read_text_file(manifest_path);
    if (expected_manifest_sha256) {
        const std::string actual = data::sha256_hex(std::span<const unsigned char>(
            reinterpret_cast<const unsigned char*>(manifest_text.data()), manifest_text.size()));
        if (actual != *expected_manifest_sha256) {
            throw util::BadInput("checkpoint " + dir.string() +
                                 " is corrupt: manifest.json does not match the checksum recorded "
                                 "in the workspace");
        }
    }
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(manifest_text);
    } catch (const nlohmann::json::exception& e) {
        throw util::BadInput("checkpoint " + dir.string() + ": manifest.json is corrupt (" +
                             e.what() + ")");
    }
    if (manifest.value("format", "") != kManifestFormat || !manifest.contains("files")) {
        throw util::BadInput("checkpoint " + dir.string() + ": manifest.json is not a " +
                             kManifestFormat + " manifest");
    }
    for (const auto& [name, info] : manifest["files"].items()) {
        const fs::path file = dir / name;
        if (!fs::exists(file)) {
            throw util::BadInput("checkpoint " + dir.string() + " is incomplete: " + name +
                                 " is missing");
        }
        const auto bytes = static_cast<int64_t>(fs::file_size(file));
        const auto expected = info.at("bytes").get<int64_t>();
        if (bytes != expected) {
            throw util::BadInput("checkpoint " + dir.string() + " is corrupt: " + name + " has " +
                                 std::to_string(bytes) + " bytes, the manifest says " +
                                 std::to_string(expected) + " (truncated?)");
        }
        if (data::sha256_file(file) != info.at("sha256").get<std::string>()) {
            throw util::BadInput("checkpoint " + dir.string() + " is corrupt: the SHA-256 of " +
                                 name + " does not match its manifest");
        }
    }

    CheckpointContent content;
    const nlohmann::json state = nlohmann::json::parse(read_text_file(dir / "state.json"));
    content.step = state.at("step").get<int64_t>();
    content.tokens_seen = state.value("tokens_seen", int64_t{0});
    content.wall_time = state.value("wall_time", 0.0);
    content.model_config = state.at("model_config");
    content.tokenizer = state.value("tokenizer", nlohmann::json::object());
    content.extra = state.value("extra", nlohmann::json::object());
    content.model = io::load_safetensors(dir / "model.safetensors").tensors;
    if (load_optimizer && fs::exists(dir / "optimizer.safetensors")) {
        content.optimizer = io::load_safetensors(dir / "optimizer.safetensors").tensors;
    }
    if (fs::exists(dir / "rng.safetensors")) {
        content.rng = io::load_safetensors(dir / "rng.safetensors").tensors;
    }
    if (load_optimizer && fs::exists(dir / "gradient_feedback.safetensors")) {
        content.gradient_feedback =
            io::load_safetensors(dir / "gradient_feedback.safetensors").tensors;
    }
    return content;
}

}  // namespace lowbit::train
