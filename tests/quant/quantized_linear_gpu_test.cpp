// The quantized linear on CUDA tensors (fake_quantize dispatches to the CUDA kernel on the current
// stream) against the same call on CPU tensors, in fp32 and under bf16 autocast, the int8 forward
// GEMM on CUDA's int8 kernel (padded shapes) against the CPU's, bfloat16 fake quantization against
// the CPU's float32 round trip, and a W8A8G8 model step on the GPU.
// Reports SKIPPED without a CUDA device.
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/int8_gemm.h"
#include "lowbit/quant/quantized_linear.h"
#include "lowbit/util/autocast_guard.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "../support/cuda_device.h"

namespace lowbit::quant {
namespace {

using config::BackwardMode;
using kernels::FakeQuantParams;
using kernels::Granularity;

using testing::have_cuda;

FakeQuantParams params(int bits, Granularity g, float min_range) {
    FakeQuantParams p;
    p.bits = bits;
    p.granularity = g;
    p.min_range = min_range;
    p.group_size = 8;
    return p;
}

struct Grads {
    torch::Tensor y, dx, dw, db;
};

Grads run(const torch::Device& device, const QuantizedLinearCall& call, bool bf16) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(17);
    torch::Tensor x = torch::randn({3, 5, 24}, gen, torch::kFloat32).to(device).requires_grad_();
    torch::Tensor w =
        (torch::randn({48, 24}, gen, torch::kFloat32) * 0.05).to(device).requires_grad_();
    torch::Tensor b = (torch::randn({48}, gen, torch::kFloat32) * 0.1).to(device).requires_grad_();
    torch::Tensor g = (torch::randn({3, 5, 48}, gen, torch::kFloat32) * 1e-3).to(device);
    Grads out;
    {
        util::AutocastGuard autocast(device.type(), bf16);
        out.y = quantized_linear(x, w, b, call);
    }
    out.y.backward(g.to(out.y.scalar_type()));
    out.dx = x.grad();
    out.dw = w.grad();
    out.db = b.grad();
    return out;
}

// The quantized operands are bit-identical across devices; the GEMMs are not (cuBLAS and the CPU
// BLAS sum in different orders, TF32 off by default in LibTorch): fp32 agrees to ~1e-6 of the
// largest entry, bf16 GEMMs to bf16's 2^-8 relative step.
void expect_close(const torch::Tensor& gpu,
                  const torch::Tensor& cpu,
                  double rel,
                  const char* what) {
    const torch::Tensor a = gpu.detach().to(torch::kCPU, torch::kFloat32);
    const torch::Tensor e = cpu.detach().to(torch::kFloat32);
    const double scale = std::max(e.abs().max().item<double>(), 1e-30);
    EXPECT_LE((a - e).abs().max().item<double>(), rel * scale) << what;
}

TEST(QuantizedLinearGpu, MatchesCpuForEveryModeAndGranularity) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    const torch::Device cuda(torch::kCUDA, 0);
    for (Granularity gran :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        for (BackwardMode mode : {BackwardMode::kPaper,
                                  BackwardMode::kSwitchback,
                                  BackwardMode::kBoth,
                                  BackwardMode::kSte}) {
            for (int blocks : {1, 3}) {
                for (bool bf16 : {false, true}) {
                    SCOPED_TRACE(std::string(config::to_string(mode)) + " blocks " +
                                 std::to_string(blocks) + (bf16 ? " bf16" : " fp32") + " gran " +
                                 std::to_string(static_cast<int>(gran)));
                    const QuantizedLinearCall call{params(8, gran, 1e-5f),
                                                   params(8, gran, 1e-5f),
                                                   params(8, gran, 1e-9f),
                                                   mode,
                                                   blocks};
                    const Grads c = run(torch::kCPU, call, bf16);
                    const Grads g = run(cuda, call, bf16);
                    ASSERT_TRUE(g.y.is_cuda());
                    const double rel = bf16 ? 1.0 / 64 : 1e-5;
                    expect_close(g.y, c.y, rel, "Y");
                    expect_close(g.dx, c.dx, rel, "dX");
                    expect_close(g.dw, c.dw, rel, "dW");
                    expect_close(g.db, c.db, bf16 ? 1e-3 : 1e-5, "db");
                }
            }
        }
    }
}

// Exact int32 sums on both devices and the same float32 rescale: Y is bit-identical, for shapes
// CUDA's kernel takes as they are and for shapes it needs zero-padded (N <= 16, in or out not a
// multiple of 8).
TEST(QuantizedLinearGpu, Int8ForwardGemmIsBitIdenticalToCpu) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(9);
    const FakeQuantParams w_params = params(8, Granularity::kPerChannel, 1e-5f);
    const FakeQuantParams x_params = params(8, Granularity::kPerToken, 1e-5f);
    for (const auto& [n, in, out] :
         std::vector<std::array<int64_t, 3>>{{64, 128, 96}, {5, 24, 48}, {33, 20, 13}}) {
        const torch::Tensor x = torch::randn({n, in}, gen, torch::kFloat32);
        const torch::Tensor w = torch::randn({out, in}, gen, torch::kFloat32);
        const torch::Tensor cpu = int8_linear(int8_operand(x, x_params), int8_operand(w, w_params));
        const torch::Tensor gpu =
            int8_linear(int8_operand(x.cuda(), x_params), int8_operand(w.cuda(), w_params));
        ASSERT_TRUE(gpu.is_cuda());
        EXPECT_TRUE(torch::equal(gpu.cpu(), cpu)) << n << "x" << in << "x" << out;
    }
}

// A bfloat16 tensor on the GPU is quantized by the kernel in place of a round trip through
// float32; the CPU path makes that round trip (widen, quantize in float32, round once). Values
// and scales must agree bit for bit, for every granularity and for rows that are and are not
// whole 16-byte vectors (768, 100 values) or too long for one pass (9000).
TEST(QuantizedLinearGpu, Bf16FakeQuantizeEqualsTheFloat32RoundTrip) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(11);
    for (const auto& [rows, cols] :
         std::vector<std::array<int64_t, 2>>{{64, 768}, {7, 100}, {3, 9000}}) {
        const torch::Tensor x =
            torch::randn({rows, cols}, gen, torch::kFloat32).to(torch::kBFloat16);
        for (Granularity gran : {Granularity::kPerTensor,
                                 Granularity::kPerChannel,
                                 Granularity::kPerToken,
                                 Granularity::kPerGroup}) {
            for (int bits : {8, 4}) {
                FakeQuantParams p = params(bits, gran, 1e-5f);
                p.group_size = 4;
                FakeQuantScales cpu_scales;
                FakeQuantScales gpu_scales;
                const torch::Tensor cpu = fake_quantize(x, p, &cpu_scales);
                const torch::Tensor gpu = fake_quantize(x.cuda(), p, &gpu_scales);
                ASSERT_EQ(gpu.scalar_type(), torch::kBFloat16);
                const std::string name = std::to_string(rows) + "x" + std::to_string(cols) +
                                         " gran " + std::to_string(static_cast<int>(gran)) +
                                         " bits " + std::to_string(bits);
                EXPECT_TRUE(torch::equal(gpu.cpu(), cpu)) << name;
                EXPECT_TRUE(torch::equal(gpu_scales.scales.cpu(), cpu_scales.scales)) << name;
            }
        }
    }
}

TEST(QuantizedLinearGpu, QuantizedOperandsAreBitIdenticalToCpu) {
    if (!have_cuda()) {
        GTEST_SKIP() << "no CUDA device";
    }
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(5);
    const torch::Tensor g = torch::randn({15, 48}, gen, torch::kFloat32);
    for (Granularity gran :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        const FakeQuantParams p = params(4, gran, 1e-9f);
        EXPECT_TRUE(torch::equal(quantize_grad_output(g.cuda(), p, 3).cpu(),
                                 quantize_grad_output(g, p, 3)));
    }
}

}  // namespace
}  // namespace lowbit::quant
