// launch_quantized_adam_step and launch_state_dequantize against the scalar references, bit for
// bit, on the format sweep and awkward shapes of the CPU test, with groups for every team of the
// one-pass kernel (a warp, a block) and for the three-pass path (odd or differing group lengths,
// groups over the one-pass limit). Skipped without a CUDA device.
#include "lowbit/kernels/quantized_adam.h"

#include <gtest/gtest.h>

#include <vector>

#include "gpu_test_util.h"
#include "kernels_test_util.h"
#include "quantized_adam_test_util.h"

namespace lowbit::kernels {
namespace {

using test::AdamProblem;
using test::bits_equal;
using test::describe;
using test::DeviceVector;
using test::MomentStore;
using test::state_format;

AdamStepScalars scalars_for_step(std::int64_t step) {
    return adam_step_scalars(1e-2, 0.9, 0.999, 1e-8, 0.1, step);
}

// A moment's buffers on the device.
struct DeviceMoment {
    DeviceVector<std::uint8_t> codes;
    DeviceVector<float> scales;
    DeviceVector<float> zero_points;
    DeviceVector<float> values;
    DeviceVector<float> unquantized_out;

    explicit DeviceMoment(const MomentStore& host)
        : codes(host.codes),
          scales(host.scales),
          zero_points(host.zero_points),
          values(host.values),
          unquantized_out(host.unquantized_out) {}

    AdamMoment moment(const MomentStore& host) const {
        AdamMoment m;
        if (host.format) {
            m.format = &*host.format;
            m.quantized = {codes.get(), scales.get(), zero_points.get()};
            m.unquantized_out = host.unquantized_out.empty() ? nullptr : unquantized_out.get();
        } else {
            m.values = values.get();
        }
        return m;
    }

    void copy_back(MomentStore* host) const {
        host->codes = codes.to_host();
        host->scales = scales.to_host();
        host->zero_points = zero_points.to_host();
        host->values = values.to_host();
        host->unquantized_out = unquantized_out.to_host();
    }
};

void expect_gpu_matches_reference(AdamProblem problem, int steps) {
    AdamProblem expected = problem;
    DeviceVector<float> param(problem.param);
    DeviceVector<float> grad(problem.grad);
    DeviceMoment m(problem.m);
    DeviceMoment v(problem.v);
    for (int t = 1; t <= steps; ++t) {
        ASSERT_EQ(quantized_adam_step_ref(expected.args(scalars_for_step(t))), Status::kOk);
        QuantizedAdamArgs a;
        a.param = param.get();
        a.grad = grad.get();
        a.rows = problem.rows;
        a.cols = problem.cols;
        a.m = m.moment(problem.m);
        a.v = v.moment(problem.v);
        a.v_mapping = problem.mapping;
        a.scalars = scalars_for_step(t);
        ASSERT_EQ(launch_quantized_adam_step(a, nullptr), Status::kOk);
    }
    problem.param = param.to_host();
    m.copy_back(&problem.m);
    v.copy_back(&problem.v);
    EXPECT_TRUE(bits_equal(expected.param, problem.param)) << describe(problem);
    EXPECT_TRUE(expected.m == problem.m) << "m of " << describe(problem);
    EXPECT_TRUE(expected.v == problem.v) << "v of " << describe(problem);
}

TEST(QuantizedAdamGpu, MatchesReferenceBitForBit) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {1, 1}, {1, 7}, {13, 77}, {3, 20000}, {2, 1000}, {5, 3000}};
    std::uint64_t seed = 500;
    for (const auto& [rows, cols] : shapes) {
        for (const StateQuantFormat& f : test::format_sweep()) {
            for (const auto mapping : {SecondMomentMapping::kLinear, SecondMomentMapping::kSqrt}) {
                expect_gpu_matches_reference(AdamProblem(rows, cols, f, f, mapping, ++seed), 3);
            }
            AdamProblem tapped(rows, cols, f, f, SecondMomentMapping::kSqrt, ++seed);
            tapped.tap_moments();  // the unquantized outputs must match too
            expect_gpu_matches_reference(tapped, 2);
            expect_gpu_matches_reference(
                AdamProblem(rows, cols, f, std::nullopt, SecondMomentMapping::kLinear, ++seed), 2);
        }
    }
}

TEST(QuantizedAdamGpu, MatchesReferenceOnAMillionAndThreeValues) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    expect_gpu_matches_reference(AdamProblem(1,
                                             1000003,
                                             state_format(8, Granularity::kPerTensor),
                                             state_format(4, Granularity::kPerBlock),
                                             SecondMomentMapping::kSqrt,
                                             3),
                                 2);
}

TEST(StateDequantizeGpu, MatchesReferenceBitForBit) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    for (const StateQuantFormat& f : test::format_sweep()) {
        AdamProblem p(13, 77, f, f, SecondMomentMapping::kSqrt, 77);
        const std::vector<float> expected = p.v.current(13, 77, SecondMomentMapping::kSqrt);
        DeviceMoment d(p.v);
        DeviceVector<float> out(expected.size());
        ASSERT_EQ(launch_state_dequantize({d.codes.get(), d.scales.get(), d.zero_points.get()},
                                          13,
                                          77,
                                          f,
                                          SecondMomentMapping::kSqrt,
                                          out.get(),
                                          nullptr),
                  Status::kOk);
        EXPECT_TRUE(bits_equal(expected, out.to_host())) << test::describe(f);
    }
}

}  // namespace
}  // namespace lowbit::kernels
