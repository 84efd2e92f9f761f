// Safetensors reader and writer: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {str: str}}, then the raw
// little-endian tensor bytes. Writes are atomic (temp file, fsync, rename); reads validate
// every offset and size and report problems as io::FormatError naming the file and byte offset.
#pragma once

#include "lowbit/io/format_error.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
    std::filesystem::path path;
    NamedTensors tensors;  // CPU tensors in file (data offset) order
    std::map<std::string, std::string> metadata;

    // nullptr when absent.
    const torch::Tensor* find(const std::string& name) const;
    // Throws io::FormatError naming the file and tensor when absent.
    const torch::Tensor& at(const std::string& name) const;
};

// Writes the tensors (made contiguous, moved to CPU) in the given order. Names must be unique and
// not "__metadata__"; dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 U16 U32 U64 BOOL F8_E4M3 F8_E5M2.
// Throws std::invalid_argument on bad input and std::runtime_error on I/O failure (the
// destination is then untouched).
void save_safetensors(const std::filesystem::path& path,
                      const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads and validates a whole file. Throws io::FormatError on any inconsistency.
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// The safetensors dtype name of a torch dtype ("F32", ...); std::invalid_argument if unsupported.
std::string safetensors_dtype_name(torch::ScalarType dtype);

}  // namespace lowbit::io
