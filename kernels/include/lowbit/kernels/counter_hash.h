// Counter-based random numbers for stochastic rounding: u = f(seed, element index) with no state,
// so the reference, the multi-threaded CPU path and the CUDA kernel draw identical u per element
// regardless of thread count or launch shape. Mixer: the splitmix64 finaliser (Steele et al.).
#pragma once

#include "lowbit/kernels/host_device.h"

#include <cstdint>

namespace lowbit::kernels {

/// @brief splitmix64 finaliser: a bijective 64-bit mix with full avalanche.
LOWBIT_HD inline std::uint64_t counter_hash_mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// @brief Uniform float in [0, 1 - 2^-24], a multiple of 2^-24, from (seed, index).
/// Uses the top 24 bits so the int -> float conversion and the scaling are exact.
LOWBIT_HD inline float counter_hash_uniform(std::uint64_t seed, std::uint64_t index) {
    const std::uint64_t h =
        counter_hash_mix64(seed ^ counter_hash_mix64(index + 0x9E3779B97F4A7C15ULL));
    return static_cast<float>(h >> 40) * 0x1.0p-24f;
}

}  // namespace lowbit::kernels
