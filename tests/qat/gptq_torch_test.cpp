// GPTQ against an independent PyTorch implementation (gptq_torch_check.py; docs/efficientqat.md
// §GPTQ baseline): column by column without lazy batches, in fp64, for 2, 3 and 4 bits, groups of
// 32 and 64, with and without act-order. Also: GPTQ's output error on the calibration inputs is
// below round-to-nearest's, and a dead input's weights are zeroed.
#include "lowbit/io/safetensors.h"
#include "lowbit/qat/gptq.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "../support/shell_command.h"
#include <unistd.h>

namespace lowbit::qat {
namespace {

namespace fs = std::filesystem;

// Inputs with correlated, unevenly scaled features, so the Hessian is far from diagonal and the
// act-order permutation is not the identity.
torch::Tensor calibration_inputs(int64_t rows, int64_t in, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    const torch::Tensor mix = torch::randn({in, in}, gen) / std::sqrt(static_cast<double>(in));
    const torch::Tensor scale = torch::exp(torch::randn({in}, gen));
    return torch::randn({rows, in}, gen).matmul(mix) * scale;
}

torch::Tensor hessian_of(const torch::Tensor& x) {
    HessianAccumulator acc(x.size(1));
    acc.add(x.slice(0, 0, x.size(0) / 2));
    acc.add(x.slice(0, x.size(0) / 2));
    return acc.hessian();
}

TEST(GptqTorchTest, MatchesAnIndependentPyTorchImplementation) {
    if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
        GTEST_SKIP() << "LOWBIT_PYTHON is not set: no PyTorch to compare with";
    }
    std::string pattern = (fs::temp_directory_path() / "lowbit-gptq-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    const fs::path dir = pattern;
    int case_index = 0;
    for (const int bits : {2, 3, 4}) {
        for (const int64_t group : {32, 64}) {
            for (const bool act_order : {false, true}) {
                const uint64_t seed = 100 + case_index;
                auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
                const torch::Tensor w = torch::randn({24, 128}, gen) * 0.05;
                const torch::Tensor h = hessian_of(calibration_inputs(256, 128, seed));
                GptqOptions options;
                options.act_order = act_order;
                options.block_size = 64;  // two lazy batches
                const GptqResult r =
                    gptq_quantize(w, h, {.bits = bits, .group_size = group}, options);
                io::save_safetensors(dir / ("case" + std::to_string(case_index++) + "-w" +
                                            std::to_string(bits) + "g" + std::to_string(group) +
                                            (act_order ? "-act" : "") + ".safetensors"),
                                     {{"w", w},
                                      {"h", h},
                                      {"bits", torch::tensor({bits})},
                                      {"group", torch::tensor({group})},
                                      {"act_order", torch::tensor({act_order ? 1 : 0})},
                                      {"codes", r.codes},
                                      {"zeros", r.zero_points},
                                      {"steps", r.steps},
                                      {"weight", r.weight}});
            }
        }
    }
    const std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                            "/tests/qat/gptq_torch_check.py' '" + dir.string() + "' 2>&1";
    std::string report;
    EXPECT_EQ(testing::run_shell_command(cmd, &report), 0) << cmd << "\n" << report;
    std::cout << report;
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST(GptqTest, LowersTheOutputErrorBelowRoundToNearest) {
    const torch::Tensor x = calibration_inputs(512, 128, 7);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(8);
    const torch::Tensor w = torch::randn({32, 128}, gen) * 0.05;
    for (const int bits : {2, 3, 4}) {
        const GroupQuantSpec spec{.bits = bits, .group_size = 32};
        GroupQuantizer rtn(w, spec);
        rtn.finalize();
        const double rtn_error =
            (x.matmul((rtn.fake_quantize(w) - w).t())).square().mean().item<double>();
        const GptqResult r = gptq_quantize(w, hessian_of(x), spec, {});
        const double gptq_error = (x.matmul((r.weight - w).t())).square().mean().item<double>();
        EXPECT_LT(gptq_error, rtn_error) << bits << " bits";
    }
}

TEST(GptqTest, ADeadInputsWeightsAreZeroed) {
    torch::Tensor x = calibration_inputs(256, 64, 9);
    x.select(1, 5).zero_();
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(10);
    const torch::Tensor w = torch::randn({8, 64}, gen);
    const GptqResult r = gptq_quantize(w, hessian_of(x), {.bits = 4, .group_size = 32}, {});
    // Column 5 was zeroed before quantizing: its Ŵ is the grid value nearest 0.
    const torch::Tensor steps = r.steps.select(1, 0);
    EXPECT_TRUE(torch::all(r.weight.select(1, 5).abs() <= steps / 2 + 1e-7).item<bool>());
}

}  // namespace
}  // namespace lowbit::qat
