// Helpers for the quantized-Adam kernel tests: host storage for one moment (codes, scales, zero
// points or float32 values) seeded with a random, already-quantized state, the configurations
// swept by the CPU and GPU tests, and a description of a configuration for failure messages.
#pragma once

#include "lowbit/kernels/quantized_adam.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lowbit::kernels::test {

/// One stored moment on the host.
struct MomentStore {
    std::optional<StateQuantFormat> format;  // nullopt: float32 values
    std::vector<std::uint8_t> codes;
    std::vector<float> scales;
    std::vector<float> zero_points;
    std::vector<float> values;
    /// The step's unquantized_out (quantized moments; sized by AdamProblem::tap_moments).
    std::vector<float> unquantized_out;

    /// Random initial moment (|N(0, scale)| when non_negative), quantized if `format` is set.
    void init(std::int64_t rows,
              std::int64_t cols,
              bool non_negative,
              float scale,
              SecondMomentMapping mapping,
              std::uint64_t seed) {
        const std::int64_t n = rows * cols;
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> dist(0.0f, scale);
        std::vector<float> x(static_cast<std::size_t>(n));
        for (float& value : x) {
            value = non_negative ? std::fabs(dist(rng)) : dist(rng);
        }
        if (!format) {
            values = x;
            return;
        }
        const StateQuantLayout layout = state_quant_layout(*format, rows, cols);
        codes.assign(static_cast<std::size_t>(layout.code_bytes), 0);
        scales.assign(static_cast<std::size_t>(layout.num_groups), 0.0f);
        zero_points.assign(static_cast<std::size_t>(layout.num_groups), 0.0f);
        EXPECT_EQ(state_quantize_ref(x.data(), rows, cols, *format, mapping, buffers()),
                  Status::kOk);
    }

    QuantizedStateBuffers buffers() {
        return {codes.data(), scales.data(), zero_points.data()};
    }

    AdamMoment moment() {
        AdamMoment m;
        if (format) {
            m.format = &*format;
            m.quantized = buffers();
            m.unquantized_out = unquantized_out.empty() ? nullptr : unquantized_out.data();
        } else {
            m.values = values.data();
        }
        return m;
    }

    /// The values the moment stands for (dequantized, or the float32 values).
    std::vector<float> current(std::int64_t rows, std::int64_t cols, SecondMomentMapping mapping) {
        if (!format) {
            return values;
        }
        std::vector<float> out(static_cast<std::size_t>(rows * cols));
        EXPECT_EQ(state_dequantize_ref(buffers(), rows, cols, *format, mapping, out.data()),
                  Status::kOk);
        return out;
    }
};

inline bool operator==(const MomentStore& a, const MomentStore& b) {
    auto same_bits = [](const std::vector<float>& x, const std::vector<float>& y) {
        return x.size() == y.size() &&
               (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0);
    };
    return a.codes == b.codes && same_bits(a.scales, b.scales) &&
           same_bits(a.zero_points, b.zero_points) && same_bits(a.values, b.values) &&
           same_bits(a.unquantized_out, b.unquantized_out);
}

/// One parameter with its gradient and both moments.
struct AdamProblem {
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    std::vector<float> param;
    std::vector<float> grad;
    MomentStore m;
    MomentStore v;
    SecondMomentMapping mapping = SecondMomentMapping::kLinear;

    AdamProblem(std::int64_t r,
                std::int64_t c,
                std::optional<StateQuantFormat> m_format,
                std::optional<StateQuantFormat> v_format,
                SecondMomentMapping v_mapping,
                std::uint64_t seed)
        : rows(r), cols(c), mapping(v_mapping) {
        const std::int64_t n = rows * cols;
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        param.resize(static_cast<std::size_t>(n));
        grad.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
            param[static_cast<std::size_t>(i)] = 0.05f * dist(rng);
            // Gradients spanning 4 decades, with exact zeros (gradients are sparse in training).
            const float scale = (i % 5 == 0) ? 1e-3f : (i % 7 == 0 ? 1.0f : 1e-2f);
            grad[static_cast<std::size_t>(i)] = (i % 11 == 3) ? 0.0f : scale * dist(rng);
        }
        m.format = m_format;
        v.format = v_format;
        m.init(rows, cols, false, 1e-2f, SecondMomentMapping::kLinear, seed + 1);
        v.init(rows, cols, true, 1e-4f, v_mapping, seed + 2);
    }

    /// Makes every later step write its quantized moments' pre-quantization values (NaN until).
    void tap_moments() {
        for (MomentStore* store : {&m, &v}) {
            if (store->format) {
                store->unquantized_out.assign(static_cast<std::size_t>(rows * cols), std::nanf(""));
            }
        }
    }

    QuantizedAdamArgs args(const AdamStepScalars& scalars) {
        QuantizedAdamArgs a;
        a.param = param.data();
        a.grad = grad.data();
        a.rows = rows;
        a.cols = cols;
        a.m = m.moment();
        a.v = v.moment();
        a.v_mapping = mapping;
        a.scalars = scalars;
        return a;
    }
};

inline StateQuantFormat state_format(int bits,
                                     Granularity granularity,
                                     bool symmetric = true,
                                     QuantGrid grid = QuantGrid::kReference,
                                     std::int64_t block = 256) {
    StateQuantFormat f;
    f.bits = bits;
    f.granularity = granularity;
    f.symmetric = symmetric;
    f.grid = grid;
    f.block_size = block;
    return f;
}

inline std::string describe(const std::optional<StateQuantFormat>& f) {
    if (!f) {
        return "fp32";
    }
    std::ostringstream text;
    const char* gran[] = {"tensor", "row", "block"};
    text << f->bits << "b-" << gran[static_cast<int>(f->granularity)];
    if (f->granularity == Granularity::kPerBlock) {
        text << f->block_size;
    }
    text << (f->symmetric ? "-sym" : "-asym") << (f->grid == QuantGrid::kFull ? "-full" : "");
    return text.str();
}

inline std::string describe(const AdamProblem& p) {
    std::ostringstream text;
    text << "(" << p.rows << "x" << p.cols << ") m=" << describe(p.m.format)
         << " v=" << describe(p.v.format)
         << (p.mapping == SecondMomentMapping::kSqrt ? " sqrt(v)" : "");
    return text.str();
}

/// The sweep of formats every optimized path is compared on: bit-widths 8, 5, 4, 3 and 2 (both
/// the one-byte and the packed codes), all granularities incl. blocks that straddle rows and an
/// odd block length, symmetric and asymmetric on both grids.
inline std::vector<StateQuantFormat> format_sweep() {
    using G = Granularity;
    return {
        state_format(8, G::kPerBlock),
        state_format(8, G::kPerChannel),
        state_format(8, G::kPerTensor),
        state_format(4, G::kPerBlock),
        state_format(4, G::kPerChannel),
        state_format(4, G::kPerTensor),
        state_format(3, G::kPerBlock, true, QuantGrid::kReference, 7),
        state_format(3, G::kPerChannel, false),
        state_format(5, G::kPerTensor, false),
        state_format(8, G::kPerBlock, false, QuantGrid::kFull, 64),
        state_format(2, G::kPerChannel, false, QuantGrid::kFull),
        state_format(4, G::kPerBlock, false, QuantGrid::kReference, 33),
    };
}

}  // namespace lowbit::kernels::test
