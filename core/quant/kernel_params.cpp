// Recipe quantizer spec -> kernel parameters.
#include "lowbit/quant/kernel_params.h"

#include <stdexcept>
#include <string>

namespace lowbit::quant {

kernels::FakeQuantParams kernel_params(const config::QuantizerSpec& spec, std::uint64_t seed) {
    if (!spec.enabled()) {
        throw std::invalid_argument("kernel_params: quantizer is off (bits " +
                                    std::to_string(spec.bits) + ")");
    }
    kernels::FakeQuantParams params;
    params.bits = spec.bits;
    params.symmetric = spec.symmetric;
    params.grid = spec.grid;
    params.is_signed = spec.is_signed;
    params.granularity = spec.granularity;
    params.group_size = spec.group_size;
    params.rounding = spec.rounding;
    params.min_range = static_cast<float>(spec.min_range);
    params.seed = seed;
    return params;
}

}  // namespace lowbit::quant
