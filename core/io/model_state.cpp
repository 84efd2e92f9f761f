// model_state / load_model_state: checkpoint tensors under the model's own parameter names.
#include "lowbit/io/model_state.h"

#include <set>
#include <sstream>

namespace lowbit::io {

namespace {

std::string shape_string(at::IntArrayRef sizes) {
    std::ostringstream out;
    out << sizes;
    return out.str();
}

}  // namespace

NamedTensors model_state(const model::LanguageModelImpl& model) {
    NamedTensors state;
    for (const auto& item : model.named_parameters()) {
        state.emplace_back(item.key(), item.value().detach());
    }
    for (const auto& item : model.named_buffers()) {
        state.emplace_back(item.key(), item.value().detach());
    }
    return state;
}

void load_model_state(model::LanguageModelImpl& model, const SafetensorsFile& file) {
    const std::string where = file.path.string();
    auto targets = model_state(model);
    std::set<std::string> expected;
    // Validate everything first, so a bad file leaves the model untouched.
    for (const auto& [name, target] : targets) {
        expected.insert(name);
        const torch::Tensor* source = file.find(name);
        if (source == nullptr) {
            throw FormatError(where + ": missing tensor '" + name + "' (expected shape " +
                              shape_string(target.sizes()) + ")");
        }
        if (source->sizes() != target.sizes()) {
            throw FormatError(where + ": tensor '" + name + "' has shape " +
                              shape_string(source->sizes()) + ", expected " +
                              shape_string(target.sizes()));
        }
        if (!source->is_floating_point() && target.is_floating_point()) {
            throw FormatError(where + ": tensor '" + name + "' has dtype " +
                              c10::toString(source->scalar_type()) + ", expected a float type");
        }
    }
    for (const auto& [name, tensor] : file.tensors) {
        if (!expected.contains(name)) {
            throw FormatError(where + ": unexpected tensor '" + name + "' (shape " +
                              shape_string(tensor.sizes()) + ") is not part of this " +
                              model::family_name(model.config().family) + " model");
        }
    }
    torch::NoGradGuard no_grad;
    for (auto& [name, target] : targets) {
        target.copy_(*file.find(name));
    }
}

}  // namespace lowbit::io
