// LayerTelemetry on a real model step (docs/quantized-pretraining.md §Telemetry): the recorded
// statistics are those of the tensors the step used, checked against values computed here with
// plain LibTorch ops:
// - G of a fused qkv with split_qkv_grad and a per-tensor quantizer: the SQNR of one scale per
//   q/k/v block (what the backward quantizes), not of one scale over the whole gradient;
// - m and v at step 3: m_3 and v_3 recomputed in float64 from the gradients of steps 1-3 with
//   m_t = β1·m_(t−1) + (1−β1)·g_t and v_t = β2·v_(t−1) + (1−β2)·g_t² (m_0 = v_0 = 0);
// - W: the weights after the update.
#include "lowbit/train/layer_telemetry.h"

#include "lowbit/model/language_model.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/make_optimizer.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "temp_dir.h"

namespace lowbit::train {
namespace {

// SQNR in dB of symmetric 8-bit fake quantization with one scale per row of x.
double per_row_sqnr_db(const torch::Tensor& rows, double min_range) {
    const torch::Tensor x = rows.to(torch::kFloat64);
    const torch::Tensor s = x.abs().amax(1, true).clamp_min(min_range) / 127.0;
    const torch::Tensor q = torch::round(torch::clamp(x / s, -128, 127)) * s;
    return 10.0 *
           std::log10(x.square().sum().item<double>() / (x - q).square().sum().item<double>());
}

TEST(LayerTelemetry, RecordsWhatTheStepUsed) {
    torch::manual_seed(3);
    model::ModelConfig cfg;
    cfg.layers = 1;
    cfg.heads = 2;
    cfg.d_model = 32;
    cfg.d_ff = 128;
    cfg.context = 8;
    cfg.vocab_size = 256;
    auto model = model::create_model(cfg, 7);
    config::Recipe recipe;
    recipe.quant.grad_output.bits = 8;
    recipe.quant.grad_output.granularity = config::Granularity::kPerTensor;
    recipe.quant.split_qkv_grad = true;
    recipe.quant.scope = {"qkv"};
    recipe.telemetry.every = 3;  // steps 1 and 2 update the moments unrecorded
    model->set_quant_plan(
        std::make_shared<const quant::QuantPlan>(quant::resolve_quant_plan(recipe, *model)));
    const std::unique_ptr<Optimizer> optimizer = make_optimizer(recipe, *model);

    testing::TempDir dir("layer_telemetry");
    store::Workspace workspace = store::Workspace::open(dir.path());
    store::RunWriter writer(workspace);
    store::RunRecord record;
    record.name = "t";
    record.kind = "train";
    const int64_t run_id = writer.create_run(record);

    LayerTelemetry telemetry(recipe, *model);
    model::Linear qkv = model->linears().front();
    ASSERT_EQ(qkv->path(), "blocks.0.attn.qkv");
    std::vector<torch::Tensor> grads;  // qkv's weight gradient at each step, (96, 32)
    torch::Tensor g;                   // qkv's output gradient at step 3, (16, 96)
    for (int64_t done = 1; done <= 3; ++done) {
        EXPECT_EQ(telemetry.begin_step(done), done == 3) << done;
        for (torch::Tensor& p : model->parameters()) {
            p.mutable_grad() = torch::Tensor();
        }
        const torch::Tensor ids = torch::randint(0, 256, {2, 8}, torch::kInt64);
        model::lm_loss(model->forward(ids), ids).backward();
        grads.push_back(qkv->weight().grad().clone());
        if (done == 3) {
            g = qkv->captured_grad_output().clone();
            telemetry.add_before_update(*optimizer);
        }
        optimizer->step(1e-2);
    }
    ASSERT_EQ(g.sizes(), (torch::IntArrayRef{16, 96}));
    // Only qkv is quantized, so only qkv is recorded: W, A, G, m, v.
    EXPECT_EQ(telemetry.finish_step(3, writer, run_id), 5u);
    EXPECT_FALSE(qkv->capture_enabled());

    const store::RunReader reader(workspace);
    std::map<std::string, store::QuantStatRecord> stats;
    for (const store::QuantStatRecord& r : reader.quant_stats(run_id)) {
        EXPECT_EQ(r.layer, "blocks.0.attn.qkv");
        EXPECT_EQ(r.step, 3);
        stats[r.tensor_kind] = r;
    }
    ASSERT_EQ(stats.size(), 5u);

    // Each of the q, k, v blocks (16 × 32) with its own scale: as rows of (3, 512).
    const torch::Tensor blocks = g.reshape({16, 3, 32}).transpose(0, 1).reshape({3, -1});
    EXPECT_NEAR(stats.at("grad_output").sqnr_db, per_row_sqnr_db(blocks, 1e-9), 1e-3);
    const double one_scale = per_row_sqnr_db(g.reshape({1, -1}), 1e-9);
    EXPECT_GT(std::abs(stats.at("grad_output").sqnr_db - one_scale), 1e-3)
        << "per-block and whole-tensor scales should differ on a real gradient";
    EXPECT_NEAR(stats.at("grad_output").scale_max,
                blocks.abs().amax(1).max().item<double>() / 127.0,
                1e-6 * stats.at("grad_output").scale_max);

    auto histogram = [&](const std::string& kind) {
        const auto histograms = reader.histograms(run_id, "blocks.0.attn.qkv", kind, 3);
        EXPECT_EQ(histograms.size(), 2u) << kind;
        return histograms.at(0);
    };
    auto histogram_sum = [&](const std::string& kind) { return histogram(kind).sum; };
    const double beta1 = recipe.train.betas[0];
    const double beta2 = recipe.train.betas[1];
    torch::Tensor m = torch::zeros({96, 32}, torch::kFloat64);
    torch::Tensor v = torch::zeros({96, 32}, torch::kFloat64);
    for (const torch::Tensor& step_grad : grads) {
        const torch::Tensor g64 = step_grad.to(torch::kFloat64);
        m = beta1 * m + (1 - beta1) * g64;
        v = beta2 * v + (1 - beta2) * g64.square();
    }
    // The moments of three steps are not those of one: the last gradient alone is far off.
    const torch::Tensor m_last_only = (1 - beta1) * grads.back().to(torch::kFloat64);
    ASSERT_GT((m - m_last_only).abs().max().item<double>(), 0.1 * m.abs().max().item<double>());
    for (const auto& [kind, expected] : {std::pair{"optim_m", m}, std::pair{"optim_v", v}}) {
        SCOPED_TRACE(kind);
        const store::HistogramRecord h = histogram(kind);
        const double absmax = expected.abs().max().item<double>();
        EXPECT_EQ(h.n, 96 * 32);
        EXPECT_NEAR(
            h.sum, expected.sum().item<double>(), 1e-5 * expected.abs().sum().item<double>());
        EXPECT_NEAR(h.sumsq,
                    expected.square().sum().item<double>(),
                    1e-5 * expected.square().sum().item<double>());
        EXPECT_NEAR(h.min, expected.min().item<double>(), 1e-5 * absmax);
        EXPECT_NEAR(h.max, expected.max().item<double>(), 1e-5 * absmax);
    }
    const double w_sum = qkv->weight().to(torch::kFloat64).sum().item<double>();
    EXPECT_NEAR(histogram_sum("weight"), w_sum, 1e-9 + 1e-6 * std::abs(w_sum));
}

TEST(LayerTelemetry, OffStepsCaptureNothing) {
    model::ModelConfig cfg;
    cfg.layers = 1;
    cfg.heads = 2;
    cfg.d_model = 32;
    cfg.d_ff = 128;
    cfg.context = 8;
    auto model = model::create_model(cfg, 7);
    config::Recipe recipe;
    recipe.telemetry.every = 10;
    LayerTelemetry telemetry(recipe, *model);
    EXPECT_FALSE(telemetry.begin_step(9));
    for (const model::Linear& linear : model->linears()) {
        EXPECT_FALSE(linear->capture_enabled()) << linear->path();
    }
    EXPECT_TRUE(telemetry.begin_step(10));
    for (const model::Linear& linear : model->linears()) {
        EXPECT_TRUE(linear->capture_enabled()) << linear->path();  // nothing quantized: all
    }
}

}  // namespace
}  // namespace lowbit::train
