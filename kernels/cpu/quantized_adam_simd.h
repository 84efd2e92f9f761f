// Private: the vector loops of the quantized-AdamW tile path (docs/kernels.md §Vector loops),
// compiled for every SIMD target and dispatched at run time like fake_quant_simd. Same float32
// operations in the same order as quantized_adam_math.h's scalar functions, so bit-identical.
#pragma once

#include "lowbit/kernels/quantized_adam.h"

#include <cstdint>

#include "common/quant_math.h"

namespace lowbit::kernels {

/// out[i] = state_code_value(codes[i], s, z, b, symmetric, square) for i in [0, n): one code
/// per byte (unpack 4-bit codes first).
void simd_state_decode(const std::uint8_t* codes,
                       std::int64_t n,
                       float s,
                       float z,
                       QuantBounds b,
                       bool symmetric,
                       bool square,
                       float* out);

/// codes[i] = state_code_of(x[i], s, z, b, symmetric) for i in [0, n), one code per byte.
void simd_state_encode(const float* x,
                       std::int64_t n,
                       float s,
                       float z,
                       QuantBounds b,
                       bool symmetric,
                       std::uint8_t* codes);

/// adam_element_update of n elements: param updated in place; m_new[i] = m_t; v_new[i] = v_t,
/// or sqrt(v_t) when v_new_root. m_new may alias m_old and v_new v_old.
void simd_adam_update(float* param,
                      const float* grad,
                      const float* m_old,
                      const float* v_old,
                      std::int64_t n,
                      const AdamStepScalars& scalars,
                      float* m_new,
                      float* v_new,
                      bool v_new_root);

}  // namespace lowbit::kernels
