// launch_packed_linear against packed_linear_ref (docs/efficientqat.md §Packed linear on the GPU):
// the same group sums in the same order, so results agree within fp32 rounding of the FMA, for
// every bit width, a tail of output columns and batches 1 and 7.
#include "lowbit/kernels/packed_linear.h"
#include "lowbit/kernels/quant_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gpu_test_util.h"

namespace lowbit::kernels {
namespace {

TEST(PackedLinearGpu, MatchesTheReference) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::uniform_real_distribution<float> step(0.001F, 0.05F);
    for (const int bits : {2, 3, 4, 8}) {
        const std::int64_t in = 256;
        const std::int64_t out = 300;
        const std::int64_t group = 64;
        std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
        std::vector<std::uint8_t> codes(in * out);
        std::vector<std::uint8_t> zeros(in / group * out);
        std::vector<float> scales(in / group * out);
        for (auto& c : codes) {
            c = static_cast<std::uint8_t>(code(rng));
        }
        for (auto& z : zeros) {
            z = static_cast<std::uint8_t>(code(rng));
        }
        for (auto& s : scales) {
            s = step(rng);
        }
        const int k = packed_codes_per_word(bits);
        std::vector<std::uint32_t> qweight(((in + k - 1) / k) * out);
        std::vector<std::uint32_t> qzeros(in / group * ((out + k - 1) / k));
        ASSERT_EQ(pack_codes_along_rows(codes.data(), in, out, bits, qweight.data()), Status::kOk);
        ASSERT_EQ(pack_codes_along_cols(zeros.data(), in / group, out, bits, qzeros.data()),
                  Status::kOk);
        std::vector<float> bias(out);
        for (auto& b : bias) {
            b = normal(rng);
        }
        for (const std::int64_t batch : {1, 7}) {
            std::vector<float> x(batch * in);
            for (auto& v : x) {
                v = normal(rng);
            }
            const PackedWeightView host{
                bits, in, out, group, qweight.data(), qzeros.data(), scales.data()};
            std::vector<float> expected(batch * out);
            ASSERT_EQ(packed_linear_ref(x.data(), batch, host, bias.data(), expected.data()),
                      Status::kOk);
            const test::DeviceVector<std::uint32_t> d_qweight(qweight);
            const test::DeviceVector<std::uint32_t> d_qzeros(qzeros);
            const test::DeviceVector<float> d_scales(scales);
            const test::DeviceVector<float> d_x(x);
            const test::DeviceVector<float> d_bias(bias);
            test::DeviceVector<float> d_y(expected.size());
            const PackedWeightView device{
                bits, in, out, group, d_qweight.get(), d_qzeros.get(), d_scales.get()};
            ASSERT_EQ(
                launch_packed_linear(d_x.get(), batch, device, d_bias.get(), d_y.get(), nullptr),
                Status::kOk);
            const std::vector<float> got = d_y.to_host();
            for (std::size_t i = 0; i < got.size(); ++i) {
                ASSERT_NEAR(got[i], expected[i], 1e-4F * (1.0F + std::abs(expected[i])))
                    << bits << " bits, batch " << batch << ", element " << i;
            }
        }
    }
}

}  // namespace
}  // namespace lowbit::kernels
