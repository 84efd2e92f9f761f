// Safetensors reading and writing written against the format description (no external library):
// atomic writes through a temp file, and a reader that checks the header and every data range.
#include "lowbit/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace lowbit::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; big-endian hosts are not supported");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ULL << 20;  // the reference implementation's limit

struct DtypeInfo {
    const char* name;
    torch::ScalarType type;
    int64_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8},
    {"F32", torch::kFloat32, 4},
    {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2},
    {"I64", torch::kInt64, 8},
    {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},
    {"I8", torch::kInt8, 1},
    {"U8", torch::kUInt8, 1},
    {"U16", torch::kUInt16, 2},
    {"U32", torch::kUInt32, 4},
    {"U64", torch::kUInt64, 8},
    {"BOOL", torch::kBool, 1},
    {"F8_E4M3", torch::kFloat8_e4m3fn, 1},
    {"F8_E5M2", torch::kFloat8_e5m2, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
    for (const auto& d : kDtypes) {
        if (name == d.name) {
            return &d;
        }
    }
    return nullptr;
}

std::string range(uint64_t begin, uint64_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

[[noreturn]] void throw_io(const std::string& what, const std::filesystem::path& path) {
    throw std::runtime_error(path.string() + ": " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const void* data, size_t size, const std::filesystem::path& path) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_io("write failed", path);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

// One tensor's entry in the header, checked against the dtype table and shape.
struct Entry {
    std::string name;
    const DtypeInfo* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;  // relative to the start of the data section
};

Entry parse_entry(const std::string& file,
                  const std::string& name,
                  const nlohmann::json& value,
                  uint64_t data_start,
                  uint64_t file_size) {
    auto fail = [&](const std::string& why) -> FormatError {
        return FormatError(file + ": tensor '" + name + "': " + why);
    };
    if (!value.is_object()) {
        throw fail("header entry is not an object");
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!value.contains(key)) {
            throw fail(std::string("header entry has no '") + key + "'");
        }
    }
    Entry e{name, nullptr, {}, 0, 0};
    const auto& dtype = value["dtype"];
    if (!dtype.is_string() || !(e.dtype = dtype_by_name(dtype.get<std::string>()))) {
        throw fail("unknown dtype " + dtype.dump());
    }
    const auto& shape = value["shape"];
    if (!shape.is_array()) {
        throw fail("shape is not an array: " + shape.dump());
    }
    uint64_t numel = 1;
    for (const auto& dim : shape) {
        if (!dim.is_number_unsigned()) {
            throw fail("shape " + shape.dump() +
                       " has a dimension that is not a non-negative integer");
        }
        const auto d = dim.get<uint64_t>();
        if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / 16 / d) {
            throw fail("shape " + shape.dump() + " is too large");
        }
        numel *= d;
        e.shape.push_back(static_cast<int64_t>(d));
    }
    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
        throw fail("data_offsets must be [begin, end] non-negative integers, got " +
                   offsets.dump());
    }
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.end < e.begin) {
        throw fail("data_offsets " + offsets.dump() + " end before they begin");
    }
    const uint64_t expected = numel * static_cast<uint64_t>(e.dtype->bytes);
    if (e.end - e.begin != expected) {
        throw fail("data_offsets " + offsets.dump() + " span " + std::to_string(e.end - e.begin) +
                   " bytes but shape " + shape.dump() + " of " + e.dtype->name + " needs " +
                   std::to_string(expected));
    }
    if (e.end > file_size - data_start) {
        throw FormatError(file + ": tensor '" + name + "' data " +
                          range(data_start + e.begin, data_start + e.end) +
                          " runs past the end of the file (" + std::to_string(file_size) +
                          " bytes): the file is truncated");
    }
    return e;
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType dtype) {
    for (const auto& d : kDtypes) {
        if (d.type == dtype) {
            return d.name;
        }
    }
    throw std::invalid_argument(std::string("safetensors: unsupported dtype ") +
                                c10::toString(dtype));
}

const torch::Tensor* SafetensorsFile::find(const std::string& name) const {
    for (const auto& [key, tensor] : tensors) {
        if (key == name) {
            return &tensor;
        }
    }
    return nullptr;
}

const torch::Tensor& SafetensorsFile::at(const std::string& name) const {
    if (const auto* t = find(name)) {
        return *t;
    }
    throw FormatError(path.string() + ": no tensor named '" + name + "'");
}

void save_safetensors(const std::filesystem::path& path,
                      const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    std::vector<torch::Tensor> cpu;
    cpu.reserve(tensors.size());
    std::set<std::string> seen;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        if (name == "__metadata__" || !seen.insert(name).second) {
            throw std::invalid_argument(path.string() + ": duplicate or reserved tensor name '" +
                                        name + "'");
        }
        if (!tensor.defined()) {
            throw std::invalid_argument(path.string() + ": tensor '" + name + "' is undefined");
        }
        auto t = tensor.detach().to(torch::kCPU).contiguous();
        const uint64_t bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
        header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        cpu.push_back(std::move(t));
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
    const uint64_t header_len = text.size();

    std::filesystem::path tmp = path;
    tmp += ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw_io("cannot create temporary file " + tmp.string(), path);
    }
    try {
        write_all(fd, &header_len, sizeof(header_len), tmp);
        write_all(fd, text.data(), text.size(), tmp);
        for (const auto& t : cpu) {
            write_all(fd, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size(), tmp);
        }
        if (::fsync(fd) != 0) {
            throw_io("fsync failed", tmp);
        }
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        throw_io("close failed", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw_io("cannot rename " + tmp.string() + " into place", path);
    }
    // Make the rename itself durable; failure here does not lose data, so it is best effort.
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw FormatError(file + ": cannot open for reading: " + std::strerror(errno));
    }
    std::error_code ec;
    const uint64_t file_size = std::filesystem::file_size(path, ec);
    if (ec) {
        throw FormatError(file + ": cannot read the file size: " + ec.message());
    }
    if (file_size < 8) {
        throw FormatError(file + ": " + std::to_string(file_size) +
                          " bytes is too short for a safetensors file (the 8-byte header length "
                          "at byte 0 is incomplete)");
    }
    uint64_t header_len = 0;
    in.read(reinterpret_cast<char*>(&header_len), sizeof(header_len));
    if (header_len > file_size - 8 || header_len > kMaxHeaderBytes) {
        throw FormatError(file + ": header length " + std::to_string(header_len) +
                          " (u64 at byte 0) exceeds the " + std::to_string(file_size - 8) +
                          " bytes after it" +
                          (header_len > kMaxHeaderBytes ? " or the 100 MiB header limit" : "") +
                          ": not a safetensors file, or truncated");
    }
    std::string text(header_len, '\0');
    in.read(text.data(), static_cast<std::streamsize>(header_len));
    if (!in) {
        throw FormatError(file + ": could not read the " + std::to_string(header_len) +
                          "-byte header at byte 8");
    }
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw FormatError(file + ": header JSON is invalid near byte " +
                          std::to_string(8 + (e.byte > 0 ? e.byte - 1 : 0)) + ": " + e.what());
    }
    if (!header.is_object()) {
        throw FormatError(file + ": header JSON at byte 8 is not an object");
    }

    SafetensorsFile result;
    result.path = path;
    const uint64_t data_start = 8 + header_len;
    std::vector<Entry> entries;
    for (const auto& [name, value] : header.items()) {
        if (name == "__metadata__") {
            if (!value.is_object()) {
                throw FormatError(file + ": __metadata__ is not an object");
            }
            for (const auto& [key, v] : value.items()) {
                if (!v.is_string()) {
                    throw FormatError(file + ": __metadata__ value of '" + key +
                                      "' is not a string: " + v.dump());
                }
                result.metadata[key] = v.get<std::string>();
            }
            continue;
        }
        entries.push_back(parse_entry(file, name, value, data_start, file_size));
    }
    // The data section must be covered exactly once: sorted by offset, each tensor starts where
    // the previous one ended and the last one ends at the end of the file.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t cursor = 0;
    std::string previous = "(start of data)";
    for (const auto& e : entries) {
        if (e.begin > cursor) {
            throw FormatError(file + ": bytes " + range(data_start + cursor, data_start + e.begin) +
                              " between " + previous + " and tensor '" + e.name +
                              "' belong to no tensor");
        }
        if (e.begin < cursor) {
            throw FormatError(file + ": tensor '" + e.name + "' data " +
                              range(data_start + e.begin, data_start + e.end) + " overlaps " +
                              previous);
        }
        cursor = e.end;
        previous = "tensor '" + e.name + "'";
    }
    if (data_start + cursor != file_size) {
        throw FormatError(file + ": " + std::to_string(file_size - data_start - cursor) +
                          " bytes at " + range(data_start + cursor, file_size) +
                          " after the last tensor belong to no tensor");
    }
    for (const auto& e : entries) {
        auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
        const uint64_t bytes = e.end - e.begin;
        if (bytes > 0) {
            in.seekg(static_cast<std::streamoff>(data_start + e.begin));
            in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
            if (!in) {
                throw FormatError(file + ": could not read tensor '" + e.name + "' data " +
                                  range(data_start + e.begin, data_start + e.end));
            }
        }
        result.tensors.emplace_back(e.name, std::move(t));
    }
    return result;
}

}  // namespace lowbit::io
