// QuantizedAdamW on CUDA parameters (the CUDA kernel) against the same optimizer on CPU copies
// (the CPU-parallel kernel, itself bit-identical to the scalar reference): parameters and every
// state tensor equal after 20 steps, and the dequantized telemetry view equal too. Skipped
// without a CUDA device.
#include "lowbit/train/quantized_adamw.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

namespace lowbit::train {
namespace {

using kernels::Granularity;
using kernels::SecondMomentMapping;
using kernels::StateQuantFormat;

StateQuantFormat format(int bits, Granularity granularity, bool symmetric, int64_t block) {
    StateQuantFormat f;
    f.bits = bits;
    f.granularity = granularity;
    f.symmetric = symmetric;
    f.block_size = block;
    return f;
}

TEST(QuantizedAdamWGpu, CudaStepEqualsCpuStep) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "no CUDA device on this machine";
    }
    const AdamWOptions options{.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};

    struct Case {
        StateQuantFormat m;
        StateQuantFormat v;
        SecondMomentMapping mapping;
    };

    for (const Case& c : {Case{format(8, Granularity::kPerBlock, true, 256),
                               format(8, Granularity::kPerBlock, true, 256),
                               SecondMomentMapping::kLinear},
                          Case{format(4, Granularity::kPerChannel, false, 256),
                               format(4, Granularity::kPerTensor, true, 256),
                               SecondMomentMapping::kSqrt},
                          Case{format(3, Granularity::kPerBlock, true, 7),
                               format(8, Granularity::kPerChannel, false, 256),
                               SecondMomentMapping::kLinear}}) {
        torch::manual_seed(5);
        torch::Tensor w_cpu = torch::randn({77, 130}) * 0.05;
        torch::Tensor w_cuda = w_cpu.to(torch::kCUDA);
        QuantizedAdamW cpu({{"w", w_cpu, c.m, c.v}}, options, c.mapping);
        QuantizedAdamW cuda({{"w", w_cuda, c.m, c.v}}, options, c.mapping);
        for (int t = 1; t <= 20; ++t) {
            const torch::Tensor g = torch::randn({77, 130}) * 1e-2;
            w_cpu.mutable_grad() = g;
            w_cuda.mutable_grad() = g.to(torch::kCUDA);
            cpu.step(1e-3);
            cuda.step(1e-3);
        }
        EXPECT_TRUE(torch::equal(w_cpu, w_cuda.cpu()));
        const OptimizerState a = cpu.state();
        const OptimizerState b = cuda.state();
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_TRUE(torch::equal(a[i].second, b[i].second.cpu())) << a[i].first;
        }
        const QuantizedMomentsView va = cpu.quantized_moments().at(0);
        const QuantizedMomentsView vb = cuda.quantized_moments().at(0);
        EXPECT_TRUE(vb.m.is_cuda());
        EXPECT_TRUE(torch::equal(va.m, vb.m.cpu()));
        EXPECT_TRUE(torch::equal(va.v, vb.v.cpu()));
    }
}

}  // namespace
}  // namespace lowbit::train
