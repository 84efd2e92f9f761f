// `lowbit quant` end to end: the output file holds every input tensor under its name and dtype,
// the quantized ones equal quant::fake_quantize bit for bit and the others are unchanged; the
// printed SQNR, MSE, clip and underflow percentages equal an independent PyTorch computation
// (quant_tool_check.py, python label); bad input (spec key, bit-width, missing or corrupt file,
// a group size that does not divide a tensor) exits 2 with the file and key in the message.
#include "lowbit/io/safetensors.h"
#include "lowbit/quant/fake_quantize.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "process_runner.h"
#include "temp_dir.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

struct PrintedRow {
    double sqnr_db = 0, mse = 0, clip_percent = 0, underflow_percent = 0;
};

// Rows of the printed table: "name shape... dtype sqnr mse clip underflow" for quantized tensors.
std::map<std::string, PrintedRow> parse_table(const std::string& out) {
    std::map<std::string, PrintedRow> rows;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string word; words >> word;) {
            w.push_back(word);
        }
        if (w.size() < 6 || w[0] == "tensor" || line.find("copied") != std::string::npos) {
            continue;
        }
        const std::size_t k = w.size();
        rows[w[0]] = {
            std::stod(w[k - 4]), std::stod(w[k - 3]), std::stod(w[k - 2]), std::stod(w[k - 1])};
    }
    return rows;
}

class CliQuantToolTest : public ::testing::Test {
protected:
    void SetUp() override {
        torch::manual_seed(5);
        torch::Tensor w = torch::randn({16, 64});
        w.index_put_({3, 7}, 40.0f);  // an outlier row
        w.index_put_({5}, 0.0f);      // an all-zero row
        tensors_ = {{"blocks.0.w", w},
                    {"blocks.0.b", torch::randn({16})},
                    {"emb", (torch::randn({10, 64}) * 0.02).to(torch::kBFloat16)},
                    {"idx", torch::arange(4, torch::kInt64)},
                    {"head", torch::randn({4, 2, 32}).to(torch::kHalf)}};
        in_ = dir_.path() / "in.safetensors";
        io::save_safetensors(in_, tensors_, {{"format", "pt"}, {"note", "kept"}});
    }

    ProcessResult quant(const std::string& spec, std::vector<std::string> extra = {}) {
        const fs::path spec_file = dir_.path() / "spec.yaml";
        std::ofstream(spec_file) << spec;
        std::vector<std::string> args = {LOWBIT_EXE,
                                         "quant",
                                         in_.string(),
                                         "--spec",
                                         spec_file.string(),
                                         "--out",
                                         out().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_process(args, 120);
    }

    fs::path out() const {
        return dir_.path() / "out.safetensors";
    }

    // The independent PyTorch metrics, keyed by tensor name.
    std::map<std::string, PrintedRow> torch_metrics(const std::string& args,
                                                    const std::vector<std::string>& names) {
        std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                          "/tests/cli/quant_tool_check.py' '" + in_.string() + "' " + args;
        for (const std::string& n : names) {
            cmd += " " + n;
        }
        std::map<std::string, PrintedRow> rows;
        FILE* pipe = popen(cmd.c_str(), "r");
        if (pipe == nullptr) {
            ADD_FAILURE() << "cannot run " << cmd;
            return rows;
        }
        char name[256];
        PrintedRow r;
        while (std::fscanf(pipe,
                           "%255s %lf %lf %lf %lf",
                           name,
                           &r.sqnr_db,
                           &r.mse,
                           &r.clip_percent,
                           &r.underflow_percent) == 5) {
            rows[name] = r;
        }
        EXPECT_EQ(pclose(pipe), 0) << cmd;
        return rows;
    }

    TempDir dir_{"cli_quant_tool"};
    io::NamedTensors tensors_;
    fs::path in_;
};

void expect_same_metrics(const PrintedRow& printed, const PrintedRow& expected) {
    // The table prints 4 decimals for dB and percentages and 6 significant digits for the MSE.
    EXPECT_NEAR(printed.sqnr_db, expected.sqnr_db, 6e-5);
    EXPECT_NEAR(printed.mse, expected.mse, 1e-5 * expected.mse);
    EXPECT_NEAR(printed.clip_percent, expected.clip_percent, 6e-5);
    EXPECT_NEAR(printed.underflow_percent, expected.underflow_percent, 6e-5);
}

TEST_F(CliQuantToolTest, QuantizesFloatMatricesAndReportsIndependentMetrics) {
    const ProcessResult r = quant("bits: 4\ngranularity: per_channel\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("blocks.0.b"), std::string::npos);
    EXPECT_NE(r.out.find("copied unchanged (1-D)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("copied unchanged (not floating point)"), std::string::npos) << r.out;

    const io::SafetensorsFile written = io::load_safetensors(out());
    EXPECT_EQ(written.metadata.at("note"), "kept");
    ASSERT_EQ(written.tensors.size(), tensors_.size());
    kernels::FakeQuantParams p;
    p.bits = 4;
    p.granularity = kernels::Granularity::kPerChannel;
    for (const auto& [name, x] : tensors_) {
        SCOPED_TRACE(name);
        const torch::Tensor& y = written.at(name);
        EXPECT_EQ(y.scalar_type(), x.scalar_type());
        EXPECT_EQ(y.sizes(), x.sizes());
        const bool quantized = x.is_floating_point() && x.dim() >= 2;
        EXPECT_TRUE(torch::equal(y, quantized ? quant::fake_quantize(x, p) : x));
    }

    const std::map<std::string, PrintedRow> printed = parse_table(r.out);
    ASSERT_EQ(printed.size(), 4u) << r.out;  // three tensors and the total
    if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
        GTEST_SKIP() << "LOWBIT_PYTHON is not set: no PyTorch to compare with";
    }
    const auto expected =
        torch_metrics("4 true reference per_row 32", {"blocks.0.w", "emb", "head"});
    ASSERT_EQ(expected.size(), 3u);
    for (const auto& [name, row] : expected) {
        SCOPED_TRACE(name);
        expect_same_metrics(printed.at(name), row);
    }
    EXPECT_GT(printed.at("blocks.0.w").underflow_percent, 0.0);
}

TEST_F(CliQuantToolTest, PerGroupAsymmetricWithOnly) {
    const ProcessResult r =
        quant("{bits: 3, granularity: per_group, group_size: 32, symmetric: false, grid: full}\n",
              {"--only", "blocks.*"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("copied unchanged (not matched by --only)"), std::string::npos) << r.out;
    const io::SafetensorsFile written = io::load_safetensors(out());
    EXPECT_TRUE(torch::equal(written.at("emb"), tensors_[2].second));
    kernels::FakeQuantParams p;
    p.bits = 3;
    p.symmetric = false;
    p.grid = kernels::QuantGrid::kFull;
    p.granularity = kernels::Granularity::kPerGroup;
    p.group_size = 32;
    EXPECT_TRUE(
        torch::equal(written.at("blocks.0.w"), quant::fake_quantize(tensors_[0].second, p)));
    if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
        GTEST_SKIP() << "LOWBIT_PYTHON is not set: no PyTorch to compare with";
    }
    const auto expected = torch_metrics("3 false full per_group 32", {"blocks.0.w"});
    ASSERT_EQ(expected.size(), 1u);
    expect_same_metrics(parse_table(r.out).at("blocks.0.w"), expected.at("blocks.0.w"));
}

TEST_F(CliQuantToolTest, BadInputExitsTwo) {
    const ProcessResult key = quant("bits: 8\ngranulrity: per_channel\n");
    EXPECT_EQ(key.exit_code, 2);
    EXPECT_NE(key.err.find("spec.yaml:2:1: granulrity: unknown key 'granulrity'; did you mean "
                           "'granularity'?"),
              std::string::npos)
        << key.err;
    const ProcessResult bits = quant("bits: 9\n");
    EXPECT_EQ(bits.exit_code, 2);
    EXPECT_NE(bits.err.find("spec.yaml:1:7: bits: 9 is not a supported bit-width"),
              std::string::npos)
        << bits.err;
    const ProcessResult off = quant("granularity: per_tensor\n");
    EXPECT_EQ(off.exit_code, 2);
    EXPECT_NE(off.err.find("means off"), std::string::npos) << off.err;
    const ProcessResult group = quant("{bits: 8, granularity: per_group, group_size: 48}\n");
    EXPECT_EQ(group.exit_code, 2);
    EXPECT_NE(group.err.find("tensor 'blocks.0.w'"), std::string::npos) << group.err;
    EXPECT_FALSE(fs::exists(out())) << "nothing is written on bad input";

    fs::remove(in_);
    const ProcessResult missing = quant("bits: 8\n");
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("in.safetensors"), std::string::npos) << missing.err;
    std::ofstream(in_, std::ios::binary) << "\x10\x00\x00\x00\x00\x00\x00\x00{not json at all";
    const ProcessResult corrupt = quant("bits: 8\n");
    EXPECT_EQ(corrupt.exit_code, 2);
    EXPECT_NE(corrupt.err.find("in.safetensors"), std::string::npos) << corrupt.err;
}

}  // namespace
}  // namespace lowbit::testing
