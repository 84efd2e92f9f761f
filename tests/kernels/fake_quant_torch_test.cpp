// fake_quant_ref and fake_quant_cpu_parallel equal, bit for bit in fp32, an independent PyTorch
// computation of the formulas of docs/quantized-pretraining.md §Linear quantization
// (fake_quant_torch_check.py) for every granularity, grid (the reference grid signed and
// unsigned), mode and bit-width 2..8; per-row
// symmetric 8-bit is also compared with torch.fake_quantize_per_channel_affine. Across processes,
// because the kernels layer may not link LibTorch: this test writes inputs and our outputs to a
// folder, the script checks them.
#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../support/shell_command.h"
#include <unistd.h>

namespace lowbit::kernels {
namespace {

namespace fs = std::filesystem;

// The script reads the files as little-endian float32.
static_assert(std::endian::native == std::endian::little, "raw files are little-endian float32");

struct Input {
    std::string name;
    std::int64_t rows;
    std::int64_t cols;
    std::vector<float> x;
};

// N(0, 1) rows at scales 1e-2..1e2, some shifted off zero (so asymmetric zero points move), plus
// the rows the brief asks for: row 0 all zero (s falls back to r_min), row 1 with +-1e4 outliers
// (every other code collapses to 0), row 2 constant (range 0, so asymmetric s = r_min / (2*Qp) and
// |min/s| is huge), and row 3 with signed zeros mixed in (the sign of a zero result must match).
Input make_input(const std::string& name,
                 std::int64_t rows,
                 std::int64_t cols,
                 float constant,
                 std::uint64_t seed) {
    Input in{name, rows, cols, std::vector<float>(static_cast<std::size_t>(rows * cols))};
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (std::int64_t r = 0; r < rows; ++r) {
        const float scale = std::pow(10.0f, static_cast<float>(r % 5) - 2.0f);
        const float shift = static_cast<float>(r % 3) * 2.0f * scale;
        for (std::int64_t c = 0; c < cols; ++c) {
            float v = normal(rng) * scale + shift;
            if (r == 0) {
                v = 0.0f;
            } else if (r == 1 && c % 17 == 5) {
                v = (c % 2 == 0) ? 1e4f : -1e4f;
            } else if (r == 2) {
                v = constant;
            } else if (r == 3 && c % 7 == 0) {
                v = (c % 14 == 0) ? -0.0f : 0.0f;
            }
            in.x[static_cast<std::size_t>(r * cols + c)] = v;
        }
    }
    return in;
}

void write_floats(const fs::path& path, const std::vector<std::vector<float>>& parts) {
    std::ofstream f(path, std::ios::binary);
    for (const auto& p : parts) {
        f.write(reinterpret_cast<const char*>(p.data()),
                static_cast<std::streamsize>(p.size() * sizeof(float)));
    }
    ASSERT_TRUE(f.good()) << "cannot write " << path;
}

const char* grid_name(QuantGrid g) {
    return g == QuantGrid::kReference ? "reference" : "full";
}

const char* granularity_name(Granularity g) {
    switch (g) {
        case Granularity::kPerTensor:
            return "per_tensor";
        case Granularity::kPerChannel:
        case Granularity::kPerToken:
        case Granularity::kPerPosition:  // rows of the (T, B*C) view the torch adapter makes
            return "per_row";
        case Granularity::kPerGroup:
            return "per_group";
        case Granularity::kPerBlock:
            break;
    }
    return "?";
}

class FakeQuantTorchTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
            GTEST_SKIP() << "LOWBIT_PYTHON is not set: no PyTorch to compare with";
        }
        std::string pattern = (fs::temp_directory_path() / "lowbit-fq-torch-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp failed for " << pattern;
        dir_ = pattern;
    }

    void TearDown() override {
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    fs::path dir_;
};

TEST_F(FakeQuantTorchTest, MatchesIndependentTorchComputationBitForBit) {
    const std::vector<Input> inputs = {make_input("x13x128", 13, 128, -2.5f, 20240611),
                                       make_input("x7x64", 7, 64, 0.37f, 77)};

    struct Gran {
        Granularity granularity;
        std::int64_t group_size;
    };

    const std::vector<Gran> grans = {{Granularity::kPerTensor, 32},
                                     {Granularity::kPerChannel, 32},
                                     {Granularity::kPerGroup, 32},
                                     {Granularity::kPerGroup, 64}};
    // The default r_min of weights/activations and of gradients; both matter for the
    // zero/constant rows.
    const std::vector<float> min_ranges = {1e-5f, 1e-9f};

    std::ofstream manifest(dir_ / "manifest.txt");
    // Line formats (whitespace separated), read by fake_quant_torch_check.py:
    //   input <name> <rows> <cols>              -> <name>.f32 holds x (rows*cols floats)
    //   case <id> <input> <bits> <symmetric 0|1> <grid> <granularity> <group_size>
    //        <min_range as float32 bits, hex> <num_groups> <signed 0|1>
    //                                           -> case<id>.f32 holds out_ref, out_par (n each),
    //                                              scales_ref, scales_par, zeros_ref, zeros_par
    for (const Input& in : inputs) {
        write_floats(dir_ / (in.name + ".f32"), {in.x});
        manifest << "input " << in.name << ' ' << in.rows << ' ' << in.cols << '\n';
    }
    int id = 0;
    for (const Input& in : inputs) {
        for (const Gran& g : grans) {
            // The reference grid signed and unsigned (Qn = 0, Qp = 2^b - 1); the full grid has no
            // unsigned choice (grid_allows_unsigned).
            for (const auto& [grid, is_signed] : {std::pair{QuantGrid::kReference, true},
                                                  std::pair{QuantGrid::kReference, false},
                                                  std::pair{QuantGrid::kFull, true}}) {
                for (bool symmetric : {true, false}) {
                    for (int bits = 2; bits <= 8; ++bits) {
                        for (float min_range : min_ranges) {
                            FakeQuantParams p;
                            p.bits = bits;
                            p.symmetric = symmetric;
                            p.grid = grid;
                            p.is_signed = is_signed;
                            p.granularity = g.granularity;
                            p.group_size = g.group_size;
                            p.rounding = Rounding::kNearest;
                            p.min_range = min_range;
                            const std::int64_t groups = fake_quant_num_groups(p, in.rows, in.cols);
                            ASSERT_GT(groups, 0);
                            const auto n = in.x.size();
                            const auto ng = static_cast<std::size_t>(groups);
                            std::vector<float> out_ref(n), out_par(n);
                            std::vector<float> s_ref(ng), s_par(ng), z_ref(ng), z_par(ng);
                            ASSERT_EQ(fake_quant_ref(in.x.data(),
                                                     in.rows,
                                                     in.cols,
                                                     p,
                                                     out_ref.data(),
                                                     s_ref.data(),
                                                     z_ref.data()),
                                      Status::kOk);
                            // 3 threads: uneven splits of 7 and 13 rows, on any machine.
                            ASSERT_EQ(fake_quant_cpu_parallel(in.x.data(),
                                                              in.rows,
                                                              in.cols,
                                                              p,
                                                              out_par.data(),
                                                              s_par.data(),
                                                              z_par.data(),
                                                              3),
                                      Status::kOk);
                            write_floats(dir_ / ("case" + std::to_string(id) + ".f32"),
                                         {out_ref, out_par, s_ref, s_par, z_ref, z_par});
                            char hex[16];
                            std::snprintf(
                                hex,
                                sizeof(hex),
                                "%08x",
                                static_cast<unsigned>(std::bit_cast<std::uint32_t>(min_range)));
                            manifest << "case " << id << ' ' << in.name << ' ' << bits << ' '
                                     << (symmetric ? 1 : 0) << ' ' << grid_name(grid) << ' '
                                     << granularity_name(g.granularity) << ' ' << g.group_size
                                     << ' ' << hex << ' ' << groups << ' ' << (is_signed ? 1 : 0)
                                     << '\n';
                            ++id;
                        }
                    }
                }
            }
        }
    }
    manifest.close();
    ASSERT_TRUE(manifest.good());

    const std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_KERNELS_TEST_DIR +
                            "/fake_quant_torch_check.py' '" + dir_.string() + "' 2>&1";
    std::string report;
    const int rc = testing::run_shell_command(cmd, &report);
    EXPECT_EQ(rc, 0) << cmd << "\n" << report;
    if (rc == 0) {
        // The summary is short; keep it in the log so a run shows what was covered.
        std::cout << report;
    }
}

}  // namespace
}  // namespace lowbit::kernels
