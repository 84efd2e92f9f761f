// Recipe quantizer spec -> kernel parameters.
#include "lowbit/quant/kernel_params.h"

#include <stdexcept>
#include <string>

namespace lowbit::quant {

kernels::QuantGranularity kernel_granularity(config::Granularity granularity) {
    switch (granularity) {
        case config::Granularity::kPerTensor:
            return kernels::QuantGranularity::kPerTensor;
        case config::Granularity::kPerChannel:
        case config::Granularity::kPerToken:
            return kernels::QuantGranularity::kPerRow;
        case config::Granularity::kPerGroup:
            return kernels::QuantGranularity::kPerGroup;
    }
    throw std::invalid_argument("unknown granularity " +
                                std::to_string(static_cast<int>(granularity)));
}

kernels::FakeQuantParams kernel_params(const config::QuantizerSpec& spec, std::uint64_t seed) {
    if (!spec.enabled()) {
        throw std::invalid_argument("kernel_params: quantizer is off (bits " +
                                    std::to_string(spec.bits) + ")");
    }
    kernels::FakeQuantParams params;
    params.bits = spec.bits;
    params.symmetric = spec.symmetric;
    params.grid = spec.grid == config::QuantGrid::kFull ? kernels::QuantGrid::kFull
                                                        : kernels::QuantGrid::kReference;
    params.granularity = kernel_granularity(spec.granularity);
    params.group_size = spec.group_size;
    params.rounding = spec.rounding == config::Rounding::kStochastic
                          ? kernels::QuantRounding::kStochastic
                          : kernels::QuantRounding::kNearest;
    params.min_range = static_cast<float>(spec.min_range);
    params.seed = seed;
    return params;
}

}  // namespace lowbit::quant
