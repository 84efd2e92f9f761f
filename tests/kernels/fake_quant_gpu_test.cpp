// launch_fake_quant against fake_quant_ref, bit for bit (outputs, scales and zero points), over
// the same sweep of bits, grids, granularities, rounding modes and awkward shapes as the CPU test.
#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

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
        {1, 1, 1}, {1, 7, 7}, {3, 5, 5}, {17, 96, 32}, {977, 1024, 128}, {1, 100003, 1}};
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
