// pickled and unpickled (tensor_pickle.h) on torch::pickle_save / pickle_load of a dictionary,
// which keeps its insertion order.
#include "lowbit/train/tensor_pickle.h"

#include <torch/csrc/jit/serialization/pickle.h>

namespace lowbit::train {

torch::Tensor pickled(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, tensor] : tensors) {
        dict.insert(name, tensor.detach().cpu().contiguous());
    }
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    return torch::from_blob(
               const_cast<char*>(bytes.data()), {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
        .clone();
}

std::vector<std::pair<std::string, torch::Tensor>> unpickled(const torch::Tensor& bytes) {
    const torch::Tensor contiguous = bytes.cpu().contiguous();
    const auto* begin = reinterpret_cast<const char*>(contiguous.data_ptr<uint8_t>());
    const std::vector<char> data(begin, begin + contiguous.numel());
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& entry : torch::pickle_load(data).toGenericDict()) {
        tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
    }
    return tensors;
}

}  // namespace lowbit::train
