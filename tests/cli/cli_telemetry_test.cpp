// Quantization telemetry and the quantized optimizer through `lowbit train`: a W8A8G8 run records
// statistics and two histograms for every quantized layer × kind at every logging step, the
// histogram counts add up to n, and the SQNR of its 8-bit weights equals, within 0.5 dB, the SQNR
// computed here with plain LibTorch ops from the checkpoint's weights; a run with quantized Adam
// states stores them in low-bit form (state bytes) and records the statistics of their
// quantization.
#include "lowbit/io/safetensors.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>

#include "cli_fixture.h"
#include <nlohmann/json.hpp>

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

// The linears of tiny_recipe's 2-block GPT-2: every one is in the reference scope.
const std::vector<std::string> kLayers = {"blocks.0.attn.qkv",
                                          "blocks.0.attn.out",
                                          "blocks.0.mlp.fc1",
                                          "blocks.0.mlp.fc2",
                                          "blocks.1.attn.qkv",
                                          "blocks.1.attn.out",
                                          "blocks.1.mlp.fc1",
                                          "blocks.1.mlp.fc2",
                                          "lm_head"};
const std::vector<std::string> kKinds = {
    "weight", "activation", "grad_output", "optim_m", "optim_v"};

// Per-output-channel symmetric fake quantization as docs/quantized-pretraining.md §Symmetric and
// asymmetric scales writes it, with torch ops only: s = max(max|row|, r_min) / Qp, q =
// round(clamp(x/s, Qn, Qp)).
double per_channel_sqnr_db(const torch::Tensor& w, int bits, double min_range) {
    const double qp = std::pow(2.0, bits - 1) - 1;
    const torch::Tensor x = w.to(torch::kFloat64);
    const torch::Tensor scale = x.abs().amax(1, true).clamp_min(min_range) / qp;
    const torch::Tensor q = torch::round(torch::clamp(x / scale, -qp - 1, qp)) * scale;
    return 20.0 * std::log10(x.norm().item<double>() / (x - q).norm().item<double>());
}

class CliTelemetryTest : public CliTest {
protected:
    store::Workspace open_workspace(const fs::path& root) const {
        return store::Workspace::open(root, store::OpenMode::kReadOnly);
    }
};

TEST_F(CliTelemetryTest, W8A8G8RunRecordsEveryLayerAndKindAtEveryLoggingStep) {
    const fs::path recipe = write_file("w8a8g8.yaml",
                                       tiny_recipe(20, 10) +
                                           "quant:\n"
                                           "  weight: {bits: 8, granularity: per_channel}\n"
                                           "  activation: {bits: 8, granularity: per_token}\n"
                                           "  grad_output: {bits: 8, granularity: per_token}\n"
                                           "telemetry: {every: 5, steps: [1], bins: 32}\n");
    const fs::path root = dir_ / "ws";
    const ProcessResult result = lowbit({"train", recipe.string(), "--progress", "jsonl"}, root);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    // The GUI learns of new telemetry rows from the JSON lines: one event per logging step.
    int telemetry_events = 0;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
        const auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.value("event", "") == "telemetry") {
            EXPECT_EQ(json.value("tensors", 0), 45) << line;
            ++telemetry_events;
        }
    }
    EXPECT_EQ(telemetry_events, 5);

    const store::Workspace workspace = open_workspace(root);
    const store::RunReader reader(workspace);
    const std::set<int64_t> steps = {1, 5, 10, 15, 20};
    std::map<std::tuple<int64_t, std::string, std::string>, store::TensorStatsRecord> stats;
    for (const store::TensorStatsRecord& r : reader.tensor_stats(1)) {
        EXPECT_TRUE(stats.emplace(std::make_tuple(r.step, r.layer, r.tensor_kind), r).second)
            << "duplicate row " << r.step << " " << r.layer << " " << r.tensor_kind;
    }
    EXPECT_EQ(stats.size(), steps.size() * kLayers.size() * kKinds.size());
    for (const int64_t step : steps) {
        for (const std::string& layer : kLayers) {
            for (const std::string& kind : kKinds) {
                SCOPED_TRACE(std::to_string(step) + " " + layer + " " + kind);
                const auto it = stats.find({step, layer, kind});
                ASSERT_NE(it, stats.end());
                const bool quantized =
                    kind == "weight" || kind == "activation" || kind == "grad_output";
                // W, A and G carry their quantizer's scales and a finite SQNR; the float32
                // Adam moments of this run have neither.
                EXPECT_EQ(std::isnan(it->second.scale_min), !quantized);
                if (quantized) {
                    EXPECT_GT(it->second.scale_min, 0.0);
                    EXPECT_GT(it->second.sqnr_db, 20.0);       // 8 bits: well above 20 dB
                    EXPECT_EQ(it->second.clip_fraction, 0.0);  // absmax scaling never clips
                }
                const auto histograms = reader.histograms(1, layer, kind, step);
                ASSERT_EQ(histograms.size(), 2u);
                std::map<std::string, size_t> bins_per_scheme;
                for (const store::HistogramRecord& h : histograms) {
                    bins_per_scheme[h.bin_scheme] = h.counts.size();
                    const int64_t in_bins =
                        std::accumulate(h.counts.begin(), h.counts.end(), int64_t{0});
                    if (h.bin_scheme == "log2") {
                        // Zeros have no magnitude bin; magnitudes outside the range are counted
                        // apart.
                        EXPECT_EQ(in_bins + it->second.zero_count + h.below + h.above,
                                  it->second.n);
                    } else {
                        EXPECT_EQ(in_bins, it->second.n) << h.bin_scheme;
                    }
                    EXPECT_GT(it->second.n, 0);
                }
                // 32 uniform bins (telemetry.bins); one bin per 8-bit code, or log2 bins.
                EXPECT_EQ(bins_per_scheme.at("uniform"), 32u);
                EXPECT_EQ(bins_per_scheme.count(quantized ? "grid" : "log2"), 1u);
                if (quantized) {
                    EXPECT_EQ(bins_per_scheme.at("grid"), 256u);
                }
            }
        }
    }

    // The 8-bit weights at the last logging step are the weights of the final checkpoint.
    const auto checkpoint = reader.latest_checkpoint(1);
    ASSERT_TRUE(checkpoint);
    ASSERT_EQ(checkpoint->step, 20);
    const io::SafetensorsFile weights =
        io::load_safetensors(root / checkpoint->path / "model.safetensors");
    std::map<std::string, torch::Tensor> by_name(weights.tensors.begin(), weights.tensors.end());
    int compared = 0;
    for (const std::string& layer : kLayers) {
        const auto tensor = by_name.find(layer + ".weight");
        if (tensor == by_name.end()) {
            continue;  // the tied lm_head is stored as the token embedding
        }
        const double expected = per_channel_sqnr_db(tensor->second, 8, 1e-5);
        EXPECT_NEAR(stats.at({20, layer, "weight"}).sqnr_db, expected, 0.5) << layer;
        ++compared;
    }
    EXPECT_EQ(compared, 8);
}

TEST_F(CliTelemetryTest, QuantizedAdamStatesAreStoredLowBitAndRecorded) {
    const std::string train_yaml = tiny_recipe(10, 10) + "telemetry: {every: 10}\n";
    const fs::path baseline = write_file("fp32.yaml", train_yaml);
    const fs::path quantized =
        write_file("m8v8.yaml",
                   train_yaml +
                       "quant:\n"
                       "  optim_m: {bits: 8, granularity: per_channel}\n"
                       "  optim_v: {bits: 4, granularity: per_group, group_size: 16}\n");
    const fs::path root = dir_ / "ws";
    ASSERT_EQ(lowbit({"train", baseline.string(), "--progress", "none"}, root).exit_code, 0);
    const ProcessResult run = lowbit({"train", quantized.string(), "--progress", "none"}, root);
    ASSERT_EQ(run.exit_code, 0) << run.err;

    const store::Workspace workspace = open_workspace(root);
    const store::RunReader reader(workspace);
    const auto state_bytes = [&](int64_t run_id) {
        return nlohmann::json::parse(reader.find_run(run_id)->summary_json)
            .at("optimizer_state_bytes")
            .get<int64_t>();
    };
    // Exact bytes: the 8 block matrices (d_model 32: qkv 96×32, out 32×32, fc1 128×32, fc2
    // 32×128) hold m as one byte per value plus a float32 scale per row, and v as two 4-bit
    // codes per byte plus a float32 scale per block of 16; everything else (embeddings with the
    // tied lm_head, biases, norms) keeps 8 bytes per value.
    const int64_t fp32_bytes = state_bytes(1);
    int64_t matrix_values = 0, matrix_rows = 0;
    for (const auto& [out, in] : {std::pair{96, 32}, {32, 32}, {128, 32}, {32, 128}}) {
        matrix_values += 2 * out * in;
        matrix_rows += 2 * out;
    }
    const int64_t expected = fp32_bytes - 8 * matrix_values + (matrix_values + 4 * matrix_rows) +
                             (matrix_values / 2 + 4 * (matrix_values / 16));
    EXPECT_EQ(state_bytes(2), expected);

    // The moments stored by the last step (checkpoint 10) are the quantization of m_10 and v_10
    // that step 10's telemetry describes. Their codes give the underflow independently of the
    // statistics pass: a code byte holds q - Qn, so q = 0 is byte 128 for 8-bit m (one byte per
    // value) and nibble 8 for 4-bit v (two values per byte, element i in the low nibble of byte
    // i/2 when i is even, the high one when odd). The fraction of values that are non-zero but
    // quantize to 0 is (codes that are 0 - values exactly 0) / n, the exact zeros being counted
    // in the same step's histogram.
    const auto checkpoint = reader.latest_checkpoint(2);
    ASSERT_TRUE(checkpoint);
    ASSERT_EQ(checkpoint->step, 10);
    const io::SafetensorsFile optimizer =
        io::load_safetensors(root / checkpoint->path / "optimizer.safetensors");
    auto zero_codes = [&](const std::string& layer, const std::string& kind) -> int64_t {
        const std::string name =
            layer + ".weight." + (kind == "optim_m" ? "exp_avg" : "exp_avg_sq") + ".codes";
        const torch::Tensor codes = optimizer.at(name).to(torch::kInt64);
        if (kind == "optim_m") {
            return codes.eq(128).sum().item<int64_t>();
        }
        return (codes.bitwise_and(0xF).eq(8).sum() + codes.bitwise_right_shift(4).eq(8).sum())
            .item<int64_t>();
    };
    double largest_v_underflow = 0.0;

    // Only the run that quantizes something records its quantized layers: the 8 matrices.
    std::map<std::string, int> rows_per_kind;
    for (const store::TensorStatsRecord& r : reader.tensor_stats(2)) {
        EXPECT_EQ(r.step, 10);
        EXPECT_NE(r.layer, "lm_head");  // tied: its moments are the embedding's, unquantized
        ++rows_per_kind[r.tensor_kind];
        if (r.tensor_kind == "optim_m" || r.tensor_kind == "optim_v") {
            SCOPED_TRACE(r.layer + " " + r.tensor_kind);
            EXPECT_GT(r.scale_max, 0.0);
            const auto histograms = reader.histograms(2, r.layer, r.tensor_kind, 10);
            ASSERT_EQ(histograms.size(), 2u);
            const auto grid = std::find_if(histograms.begin(), histograms.end(), [](auto& h) {
                return h.bin_scheme == "grid";
            });
            ASSERT_NE(grid, histograms.end());
            const bool is_m = r.tensor_kind == "optim_m";
            ASSERT_EQ(grid->counts.size(), is_m ? 256u : 16u);
            const int64_t zeros = zero_codes(r.layer, r.tensor_kind);
            // The code-0 bin of the grid histogram (index -Qn) counts the same values.
            EXPECT_EQ(grid->counts[is_m ? 128 : 8], zeros);
            const double underflow = static_cast<double>(zeros - r.zero_count) / r.n;
            EXPECT_NEAR(r.underflow_fraction, underflow, 1e-12)
                << zeros << " zero codes, " << r.zero_count << " exact zeros of " << r.n;
            if (!is_m) {
                largest_v_underflow = std::max(largest_v_underflow, r.underflow_fraction);
            }
        }
    }
    EXPECT_EQ(
        rows_per_kind,
        (std::map<std::string, int>{
            {"activation", 8}, {"grad_output", 8}, {"optim_m", 8}, {"optim_v", 8}, {"weight", 8}}));
    // 4-bit absmax blocks of v: every v below max/14 of its block rounds to 0, so some must.
    EXPECT_GT(largest_v_underflow, 0.0);
    // The baseline quantizes nothing, so it records every linear (for comparison), lm_head too.
    EXPECT_EQ(reader.tensor_stats(1).size(), kLayers.size() * kKinds.size());
}

}  // namespace
}  // namespace lowbit::testing
