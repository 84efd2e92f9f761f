// Enum names and the family default of the feed-forward width (declared in recipe.h).
#include "lowbit/config/recipe.h"

#include "enum_names.h"

namespace lowbit::config {

const char* to_string(ModelFamily v) {
    return detail::enum_name(v);
}

const char* to_string(DataFormat v) {
    return detail::enum_name(v);
}

const char* to_string(TokenizerKind v) {
    return detail::enum_name(v);
}

const char* to_string(SentencePieceType v) {
    return detail::enum_name(v);
}

const char* to_string(Schedule v) {
    return detail::enum_name(v);
}

const char* to_string(Precision v) {
    return detail::enum_name(v);
}

const char* to_string(DeviceChoice v) {
    return detail::enum_name(v);
}

int effective_d_ff(const ModelSpec& model) {
    if (model.d_ff > 0) {
        return model.d_ff;
    }
    if (model.family == ModelFamily::kLlama) {
        // ceil(8·d/3), then up to the next multiple of 32.
        const int64_t swiglu = (8 * static_cast<int64_t>(model.d_model) + 2) / 3;
        return static_cast<int>((swiglu + 31) / 32 * 32);
    }
    return 4 * model.d_model;
}

}  // namespace lowbit::config
