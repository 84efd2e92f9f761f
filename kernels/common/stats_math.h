// Private: per-element histogram bin arithmetic shared by the CPU-parallel path and the CUDA
// kernel. The uniform formula is the same double expression the reference writes out, so bins
// agree exactly; the log2 exponent is read from the float bits (the reference uses std::ilogb).
#pragma once

#include "lowbit/kernels/host_device.h"

#include <cstdint>
#include <cstring>

namespace lowbit::kernels {

/// Uniform bin of a finite x: -1 below lo, `bins` above hi, else floor((x - lo) * bins / (hi - lo))
/// with x == hi (and values that round up to `bins`) put in the last bin.
LOWBIT_HD inline int stats_uniform_bin(float x, double lo, double hi, int bins) {
    const double xd = static_cast<double>(x);
    if (xd < lo) {
        return -1;
    }
    if (xd > hi) {
        return bins;
    }
    const double t = (xd - lo) * static_cast<double>(bins) / (hi - lo);  // t >= 0: trunc == floor
    const int b = static_cast<int>(t);
    return b < bins ? b : bins - 1;
}

LOWBIT_HD inline std::uint32_t stats_float_bits(float x) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    return bits;
#endif
}

/// floor(log2|x|) for finite, non-zero x, exact (subnormals included: down to -149).
LOWBIT_HD inline int stats_log2_exponent(float x) {
    const std::uint32_t bits = stats_float_bits(x) & 0x7FFFFFFFu;
    const int biased = static_cast<int>(bits >> 23);
    if (biased != 0) {
        return biased - 127;
    }
    // Subnormal: |x| = m * 2^-149 with 1 <= m < 2^23, so floor(log2|x|) = floor(log2 m) - 149.
#if defined(__CUDA_ARCH__)
    const int top_bit = 31 - __clz(static_cast<int>(bits));
#else
    const int top_bit = 31 - __builtin_clz(bits);
#endif
    return top_bit - 149;
}

}  // namespace lowbit::kernels
