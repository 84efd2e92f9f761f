// Parsing the stable names of the telemetry tensor kinds.
#include "lowbit/telemetry/tensor_kind.h"

namespace lowbit::telemetry {

std::optional<TensorKind> tensor_kind_from_string(std::string_view name) {
    for (const TensorKind kind : kAllTensorKinds) {
        if (name == to_string(kind)) {
            return kind;
        }
    }
    return std::nullopt;
}

}  // namespace lowbit::telemetry
