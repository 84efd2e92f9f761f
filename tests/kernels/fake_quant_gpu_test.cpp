// launch_fake_quant against fake_quant_ref, bit for bit (outputs, scales and zero points), over
// the same sweep of bits, grids, granularities, rounding modes and awkward shapes as the CPU test,
// with group lengths on both sides of each kernel's limit (a warp's, a block's, the two-pass
// path). launch_fake_quant_bf16 against the reference applied to the widened values and rounded
// to bfloat16 once.
#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

struct GpuShape {
    std::int64_t rows;
    std::int64_t cols;
    std::int64_t group_size;
};

TEST(FakeQuantGpu, MatchesReferenceBitForBit) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const std::vector<GpuShape> shapes = {
        {1, 1, 1},
        {1, 7, 7},
        {3, 5, 5},
        {17, 96, 32},
        {977, 1024, 128},
        {1, 100003, 1},
        // Groups owned by a block (6000, 8192 values), the longest such group and one more value
        // (8193: the two-pass path).
        {9, 6000, 120},
        {1, 8192, 256},
        {1, 8193, 3},
        // Groups that are not whole 16-byte vectors (1001, 7 values): the element-wise kernels.
        {3, 1001, 7},
        // A block of 1000 vectors per row; rows of 10001 values, the second starting off a
        // vector boundary (two-pass path).
        {5, 4000, 40},
        {2, 10001, 1},
        // A block per row holding two loads a thread: 500 vectors, 301 values.
        {3, 2000, 16},
        {2, 301, 7}};
    for (const GpuShape& shape : shapes) {
        std::vector<float> x = test::random_normal(shape.rows * shape.cols, 2024);
        test::zero_every_third_row(x, shape.rows, shape.cols);
        test::DeviceVector<float> dx(x);
        for (int bits : {2, 3, 4, 8}) {
            for (bool sym : {true, false}) {
                // The reference grid signed and unsigned, the full grid signed.
                for (int grid_case = 0; grid_case < 3; ++grid_case) {
                    const QuantGrid grid =
                        grid_case == 2 ? QuantGrid::kFull : QuantGrid::kReference;
                    const bool is_signed = grid_case != 1;
                    for (Granularity gran : {Granularity::kPerTensor,
                                             Granularity::kPerChannel,
                                             Granularity::kPerGroup}) {
                        for (Rounding rounding : {Rounding::kNearest, Rounding::kStochastic}) {
                            FakeQuantParams p;
                            p.bits = bits;
                            p.symmetric = sym;
                            p.grid = grid;
                            p.is_signed = is_signed;
                            p.granularity = gran;
                            p.group_size = shape.group_size;
                            p.rounding = rounding;
                            p.seed = 31337;
                            const std::int64_t groups =
                                fake_quant_num_groups(p, shape.rows, shape.cols);
                            const auto n = static_cast<std::size_t>(shape.rows * shape.cols);
                            std::vector<float> ref(n), ref_s(groups), ref_z(groups);
                            ASSERT_EQ(fake_quant_ref(x.data(),
                                                     shape.rows,
                                                     shape.cols,
                                                     p,
                                                     ref.data(),
                                                     ref_s.data(),
                                                     ref_z.data()),
                                      Status::kOk);
                            test::DeviceVector<float> dout(n), ds(groups), dz(groups);
                            ASSERT_EQ(launch_fake_quant(dx.get(),
                                                        shape.rows,
                                                        shape.cols,
                                                        p,
                                                        dout.get(),
                                                        ds.get(),
                                                        dz.get(),
                                                        nullptr),
                                      Status::kOk);
                            const std::string name =
                                std::to_string(shape.rows) + "x" + std::to_string(shape.cols) +
                                " bits " + std::to_string(bits) + " sym " + std::to_string(sym) +
                                " grid " + std::to_string(static_cast<int>(grid)) +
                                (is_signed ? "" : " unsigned") + " gran " +
                                std::to_string(static_cast<int>(gran)) + " rounding " +
                                std::to_string(static_cast<int>(rounding));
                            EXPECT_TRUE(test::bits_equal(ref, dout.to_host())) << name;
                            EXPECT_TRUE(test::bits_equal(ref_s, ds.to_host())) << name;
                            EXPECT_TRUE(test::bits_equal(ref_z, dz.to_host())) << name;
                        }
                    }
                }
            }
        }
    }
}

// float32 -> bfloat16 bits, round to nearest with ties to even (the IEEE default), NaN as the
// quiet 0x7FC0: add half an ulp of the 16 kept bits, minus one when the kept part is even.
std::uint16_t to_bf16_bits(float f) {
    if (std::isnan(f)) {
        return 0x7FC0u;
    }
    std::uint32_t u = 0;
    std::memcpy(&u, &f, sizeof(u));
    u += 0x7FFFu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>(u >> 16);
}

float from_bf16_bits(std::uint16_t b) {
    const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
    float f = 0;
    std::memcpy(&f, &u, sizeof(f));
    return f;
}

TEST(FakeQuantGpu, Bf16RoundsTheFloat32ResultOnce) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    // Hand-worked roundings: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 and goes to the even 1;
    // 1 + 3·2^-8 is a tie that goes up to the even 1 + 2^-6.
    EXPECT_EQ(to_bf16_bits(1.0f + 0.00390625f), 0x3F80u);
    EXPECT_EQ(to_bf16_bits(1.0f + 3 * 0.00390625f), 0x3F82u);
    const std::vector<GpuShape> shapes = {
        {3, 5, 5}, {977, 1024, 128}, {9, 6000, 120}, {1, 8193, 3}, {2, 10001, 1}};
    for (const GpuShape& shape : shapes) {
        const auto n = static_cast<std::size_t>(shape.rows * shape.cols);
        std::vector<float> x = test::random_normal(static_cast<std::int64_t>(n), 77);
        test::zero_every_third_row(x, shape.rows, shape.cols);
        std::vector<std::uint16_t> x16(n);
        std::vector<float> widened(n);
        for (std::size_t i = 0; i < n; ++i) {
            x16[i] = to_bf16_bits(x[i]);
            widened[i] = from_bf16_bits(x16[i]);
        }
        test::DeviceVector<std::uint16_t> dx(x16);
        for (Granularity gran :
             {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
            for (bool sym : {true, false}) {
                FakeQuantParams p;
                p.bits = sym ? 8 : 4;
                p.symmetric = sym;
                p.granularity = gran;
                p.group_size = shape.group_size;
                const std::int64_t groups = fake_quant_num_groups(p, shape.rows, shape.cols);
                std::vector<float> ref(n), ref_s(groups), ref_z(groups);
                ASSERT_EQ(fake_quant_ref(widened.data(),
                                         shape.rows,
                                         shape.cols,
                                         p,
                                         ref.data(),
                                         ref_s.data(),
                                         ref_z.data()),
                          Status::kOk);
                std::vector<std::uint16_t> expected(n);
                for (std::size_t i = 0; i < n; ++i) {
                    expected[i] = to_bf16_bits(ref[i]);
                }
                test::DeviceVector<std::uint16_t> dout(n);
                test::DeviceVector<float> ds(groups), dz(groups);
                ASSERT_EQ(launch_fake_quant_bf16(dx.get(),
                                                 shape.rows,
                                                 shape.cols,
                                                 p,
                                                 dout.get(),
                                                 ds.get(),
                                                 dz.get(),
                                                 nullptr),
                          Status::kOk);
                const std::string name =
                    std::to_string(shape.rows) + "x" + std::to_string(shape.cols) + " gran " +
                    std::to_string(static_cast<int>(gran)) + " sym " + std::to_string(sym);
                EXPECT_TRUE(dout.to_host() == expected) << name;
                EXPECT_TRUE(test::bits_equal(ref_s, ds.to_host())) << name;
                EXPECT_TRUE(test::bits_equal(ref_z, dz.to_host())) << name;
            }
        }
    }
}

TEST(FakeQuantGpu, BuffersOffA16ByteBoundaryTakeTheElementWiseKernels) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    // 16 Ki values: the two-pass path per tensor, a block per row of 4096, a warp per group.
    const std::int64_t rows = 4;
    const std::int64_t cols = 4096;
    const std::vector<float> x = test::random_normal(rows * cols + 1, 9);
    const std::vector<float> shifted(x.begin() + 1, x.end());
    test::DeviceVector<float> dx(x);
    test::DeviceVector<float> dout(x.size());
    for (Granularity gran :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        FakeQuantParams p;
        p.granularity = gran;
        p.group_size = 128;
        std::vector<float> ref(shifted.size());
        ASSERT_EQ(fake_quant_ref(shifted.data(), rows, cols, p, ref.data(), nullptr, nullptr),
                  Status::kOk);
        // One float past cudaMalloc's alignment: 4 bytes off every 16-byte boundary.
        ASSERT_EQ(launch_fake_quant(
                      dx.get() + 1, rows, cols, p, dout.get() + 1, nullptr, nullptr, nullptr),
                  Status::kOk);
        const std::vector<float> got = dout.to_host();
        EXPECT_TRUE(test::bits_equal(ref, std::vector<float>(got.begin() + 1, got.end())))
            << static_cast<int>(gran);
    }
}

TEST(FakeQuantGpu, WorkspaceWhenScalesNotRequestedAndInPlace) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const std::int64_t rows = 64;
    const std::int64_t cols = 4096;
    const std::vector<float> x = test::random_normal(rows * cols, 8);
    FakeQuantParams p;
    p.bits = 4;
    p.symmetric = false;
    p.granularity = Granularity::kPerChannel;
    std::vector<float> ref(x.size());
    ASSERT_EQ(fake_quant_ref(x.data(), rows, cols, p, ref.data(), nullptr, nullptr), Status::kOk);
    test::DeviceVector<float> dx(x);
    ASSERT_EQ(launch_fake_quant(dx.get(), rows, cols, p, dx.get(), nullptr, nullptr, nullptr),
              Status::kOk);
    EXPECT_TRUE(test::bits_equal(ref, dx.to_host()));
    p.bits = 9;
    EXPECT_EQ(launch_fake_quant(dx.get(), rows, cols, p, dx.get(), nullptr, nullptr, nullptr),
              Status::kBadArgument);
}

}  // namespace
}  // namespace lowbit::kernels
