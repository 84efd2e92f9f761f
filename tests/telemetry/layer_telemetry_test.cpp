// LayerTelemetry on a real model step (docs/quantized-pretraining.md §Telemetry): the recorded
// statistics are those of the tensors the step used, checked against values computed here with
// plain LibTorch ops:
// - G of a fused qkv with split_qkv_grad and a per-tensor quantizer: the SQNR of one scale per
//   q/k/v block (what the backward quantizes), not of one scale over the whole gradient; the
//   gradient itself comes from an unquantized copy of the model;
// - float32 m and v at step 3: m_3 and v_3 recomputed in float64 from the gradients of steps 1-3
//   with m_t = β1·m_(t−1) + (1−β1)·g_t and v_t = β2·v_(t−1) + (1−β2)·g_t² (m_0 = v_0 = 0);
// - quantized m and v at step 3: the statistics of what the optimizer stored, decoded here from
//   its codes and scales (code usage equal to the stored codes, SQNR of the stored values against
//   m_3 and sqrt(v_3) recomputed from the stored step-2 state);
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

// One block, two heads, width 32, context 8: big enough for real q/k/v blocks, small enough for
// a few steps in milliseconds.
model::ModelConfig tiny_config() {
    model::ModelConfig cfg;
    cfg.layers = 1;
    cfg.heads = 2;
    cfg.d_model = 32;
    cfg.d_ff = 128;
    cfg.context = 8;
    cfg.vocab_size = 256;
    return cfg;
}

void set_plan(const config::Recipe& recipe, model::LanguageModelImpl& model) {
    model.set_quant_plan(
        std::make_shared<const quant::QuantPlan>(quant::resolve_quant_plan(recipe, model)));
}

// A workspace in a temporary folder holding one train run, for the records of a test.
struct TestRun {
    testing::TempDir dir;
    store::Workspace workspace;
    store::RunWriter writer;
    int64_t run_id;

    explicit TestRun(const std::string& name)
        : dir(name),
          workspace(store::Workspace::open(dir.path())),
          writer(workspace),
          run_id(create(writer)) {}

    static int64_t create(store::RunWriter& w) {
        store::RunRecord record;
        record.name = "t";
        record.kind = "train";
        return w.create_run(record);
    }
};

// dL/dY of the first linear (qkv) for `ids` in an unquantized copy of `model` (same weights).
torch::Tensor unquantized_grad_output(const model::ModelConfig& cfg,
                                      model::LanguageModelImpl& model,
                                      const torch::Tensor& ids) {
    auto plain = model::create_model(cfg, 1);
    {
        torch::NoGradGuard no_grad;
        const auto from = model.named_parameters();
        for (auto& item : plain->named_parameters()) {
            item.value().copy_(from[item.key()]);
        }
    }
    model::Linear qkv = plain->linears().front();
    qkv->set_capture(true);
    model::lm_loss(plain->forward(ids), ids).backward();
    const quant::QuantizerInput g = qkv->captured_grad_output();
    EXPECT_FALSE(g.params.has_value());  // nothing quantized: G itself, (B·T, out)
    return g.x.clone();
}

TEST(LayerTelemetry, RecordsWhatTheStepUsed) {
    torch::manual_seed(3);
    const model::ModelConfig cfg = tiny_config();
    auto model = model::create_model(cfg, 7);
    config::Recipe recipe;
    recipe.quant.grad_output.bits = 8;
    recipe.quant.grad_output.granularity = config::Granularity::kPerTensor;
    recipe.quant.split_qkv_grad = true;
    recipe.quant.scope = {"qkv"};
    recipe.telemetry.every = 3;  // steps 1 and 2 update the moments unrecorded
    set_plan(recipe, *model);
    const std::unique_ptr<Optimizer> optimizer = make_optimizer(recipe, *model);

    TestRun run("layer_telemetry");
    store::RunWriter& writer = run.writer;
    const int64_t run_id = run.run_id;

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
            g = unquantized_grad_output(cfg, *model, ids);
            telemetry.before_update(*optimizer);
        }
        optimizer->step(1e-2);
    }
    ASSERT_EQ(g.sizes(), (torch::IntArrayRef{16, 96}));
    // Only qkv is quantized, so only qkv is recorded: W, A, G, m, v.
    EXPECT_EQ(telemetry.finish_step(3, writer, run_id), 5u);
    EXPECT_FALSE(qkv->capture_enabled());

    const store::RunReader reader(run.workspace);
    std::map<std::string, store::TensorStatsRecord> stats;
    for (const store::TensorStatsRecord& r : reader.tensor_stats(run_id)) {
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
    EXPECT_EQ(stats.at("grad_output").qn, -128);
    EXPECT_EQ(stats.at("grad_output").qp, 127);
    EXPECT_FALSE(stats.at("weight").quantizer.has_value());  // only G is quantized

    // One stats row and two histograms per tensor; the histograms hold only bins.
    for (const auto& [kind, row] : stats) {
        const auto histograms = reader.histograms(run_id, "blocks.0.attn.qkv", kind, 3);
        ASSERT_EQ(histograms.size(), 2u) << kind;
        EXPECT_EQ(histograms[0].bin_scheme, "uniform");
        EXPECT_EQ(histograms[1].bin_scheme, kind == "grad_output" ? "grid" : "log2");
    }

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
        const store::TensorStatsRecord& h = stats.at(kind);
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
    EXPECT_NEAR(stats.at("weight").sum, w_sum, 1e-9 + 1e-6 * std::abs(w_sum));
}

// A stored moment decoded from its codes and scales (symmetric per-row, reference grid):
// (code + Qn) · s_row, as (rows, cols) float64. codes: uint8, two 4-bit codes per byte low
// nibble first when bits <= 4.
torch::Tensor decode_rows(
    const torch::Tensor& codes, const torch::Tensor& scales, int bits, int64_t rows, int64_t cols) {
    torch::Tensor c = codes.to(torch::kInt64);
    if (bits <= 4) {
        c = torch::stack({c.bitwise_and(15), c.bitwise_right_shift(4)}, 1).reshape({-1});
    }
    c = c.narrow(0, 0, rows * cols).reshape({rows, cols});
    const int qn = -(1 << (bits - 1));
    return (c + qn).to(torch::kFloat64) * scales.to(torch::kFloat64).reshape({rows, 1});
}

torch::Tensor state_tensor(const Optimizer& optimizer, const std::string& name) {
    for (const auto& [key, tensor] : optimizer.state()) {
        if (key == name) {
            return tensor.clone();
        }
    }
    ADD_FAILURE() << "no optimizer state " << name;
    return {};
}

double sqnr_db(const torch::Tensor& x, const torch::Tensor& q) {
    return 10.0 *
           std::log10(x.square().sum().item<double>() / (x - q).square().sum().item<double>());
}

TEST(LayerTelemetry, QuantizedMomentsAreTheStoredOnes) {
    torch::manual_seed(5);
    const model::ModelConfig cfg = tiny_config();
    auto model = model::create_model(cfg, 9);
    config::Recipe recipe;
    recipe.quant.optim_m.bits = 4;
    recipe.quant.optim_m.granularity = config::Granularity::kPerChannel;
    recipe.quant.optim_v.bits = 8;
    recipe.quant.optim_v.granularity = config::Granularity::kPerChannel;
    recipe.quant.optim_v_mapping = config::SecondMomentMapping::kSqrt;
    recipe.quant.scope = {"qkv"};
    recipe.telemetry.every = 3;
    set_plan(recipe, *model);
    const std::unique_ptr<Optimizer> optimizer = make_optimizer(recipe, *model);

    TestRun run("layer_telemetry_states");
    store::RunWriter& writer = run.writer;
    const int64_t run_id = run.run_id;

    LayerTelemetry telemetry(recipe, *model);
    model::Linear qkv = model->linears().front();
    std::string param;
    for (const auto& item : model->named_parameters()) {
        if (item.value().is_same(qkv->weight())) {
            param = item.key();
        }
    }
    ASSERT_FALSE(param.empty());
    torch::Tensor m_before, u_before, g3;  // stored m̂_2, stored sqrt(v̂_2), gradient of step 3
    for (int64_t done = 1; done <= 3; ++done) {
        telemetry.begin_step(done);
        for (torch::Tensor& p : model->parameters()) {
            p.mutable_grad() = torch::Tensor();
        }
        const torch::Tensor ids = torch::randint(0, 256, {2, 8}, torch::kInt64);
        model::lm_loss(model->forward(ids), ids).backward();
        if (done == 3) {
            m_before = decode_rows(state_tensor(*optimizer, param + ".exp_avg.codes"),
                                   state_tensor(*optimizer, param + ".exp_avg.scales"),
                                   4,
                                   96,
                                   32);
            u_before = decode_rows(state_tensor(*optimizer, param + ".exp_avg_sq.codes"),
                                   state_tensor(*optimizer, param + ".exp_avg_sq.scales"),
                                   8,
                                   96,
                                   32);
            g3 = qkv->weight().grad().to(torch::kFloat64);
            telemetry.before_update(*optimizer);
        }
        optimizer->step(1e-2);
    }
    telemetry.finish_step(3, writer, run_id);

    const torch::Tensor m_codes = state_tensor(*optimizer, param + ".exp_avg.codes");
    const torch::Tensor v_codes = state_tensor(*optimizer, param + ".exp_avg_sq.codes");
    const torch::Tensor m_stored =
        decode_rows(m_codes, state_tensor(*optimizer, param + ".exp_avg.scales"), 4, 96, 32);
    const torch::Tensor u_stored =
        decode_rows(v_codes, state_tensor(*optimizer, param + ".exp_avg_sq.scales"), 8, 96, 32);
    // The update of step 3 from the stored step-2 moments (docs/quantized-pretraining.md
    // §Quantized AdamW); v is stored as u = sqrt(v).
    const double beta1 = recipe.train.betas[0];
    const double beta2 = recipe.train.betas[1];
    const torch::Tensor m3 = beta1 * m_before + (1 - beta1) * g3;
    const torch::Tensor u3 = (beta2 * u_before.square() + (1 - beta2) * g3.square()).sqrt();
    ASSERT_GT((m_stored - m3).abs().max().item<double>(), 0.0) << "4 bits must round";

    const store::RunReader reader(run.workspace);

    struct Case {
        const char* kind;
        torch::Tensor unquantized;  // what the optimizer quantized
        torch::Tensor stored;       // what it stored, decoded
        torch::Tensor codes;        // as stored (q - Qn)
        int bits;
    };

    for (const Case& c :
         {Case{"optim_m", m3, m_stored, m_codes, 4}, Case{"optim_v", u3, u_stored, v_codes, 8}}) {
        SCOPED_TRACE(c.kind);
        const auto stats = reader.tensor_stats(run_id, qkv->path(), c.kind);
        ASSERT_EQ(stats.size(), 1u);
        const store::TensorStatsRecord& s = stats[0];
        EXPECT_EQ(s.step, 3);
        ASSERT_TRUE(s.quantizer.has_value());
        EXPECT_EQ(s.qn, -(1 << (c.bits - 1)));
        EXPECT_EQ(s.n, 96 * 32);
        const double absmax = c.unquantized.abs().max().item<double>();
        EXPECT_NEAR(s.min, c.unquantized.min().item<double>(), 1e-6 * absmax);
        EXPECT_NEAR(s.max, c.unquantized.max().item<double>(), 1e-6 * absmax);
        EXPECT_NEAR(s.sqnr_db, sqnr_db(c.unquantized, c.stored), 1e-3);
        // Code usage: the grid histogram is the histogram of the stored codes.
        torch::Tensor codes = c.codes.to(torch::kInt64);
        if (c.bits <= 4) {
            codes = torch::stack({codes.bitwise_and(15), codes.bitwise_right_shift(4)}, 1)
                        .reshape({-1})
                        .narrow(0, 0, 96 * 32);
        }
        const torch::Tensor usage = torch::bincount(codes, {}, 1 << c.bits);
        const auto histograms = reader.histograms(run_id, qkv->path(), c.kind, 3);
        ASSERT_EQ(histograms.size(), 2u);
        ASSERT_EQ(histograms[1].bin_scheme, "grid");
        EXPECT_EQ(histograms[1].counts,
                  std::vector<int64_t>(usage.data_ptr<int64_t>(),
                                       usage.data_ptr<int64_t>() + usage.numel()));
    }
}

// Llama's q, k and v read one normalised input, and so do gate and up: with the same quantizer
// their A statistics are computed once and recorded for each layer.
TEST(LayerTelemetry, LayersReadingOneInputShareOnePass) {
    torch::manual_seed(5);
    model::ModelConfig cfg = tiny_config();
    cfg.family = config::ModelFamily::kLlama;
    auto model = model::create_model(cfg, 7);
    config::Recipe recipe;
    recipe.quant.activation.bits = 8;
    recipe.quant.activation.granularity = config::Granularity::kPerToken;
    recipe.telemetry.every = 1;
    set_plan(recipe, *model);
    const std::unique_ptr<Optimizer> optimizer = make_optimizer(recipe, *model);
    TestRun run("layer_telemetry_shared");
    store::RunWriter& writer = run.writer;
    const int64_t run_id = run.run_id;

    LayerTelemetry telemetry(recipe, *model);
    ASSERT_TRUE(telemetry.begin_step(1));
    const torch::Tensor ids = torch::randint(0, 256, {2, 8}, torch::kInt64);
    model::lm_loss(model->forward(ids), ids).backward();
    telemetry.before_update(*optimizer);
    optimizer->step(1e-2);
    // Eight linears (q k v o gate up down, and the head), each W, A, G, m, v.
    const std::size_t recorded = telemetry.finish_step(1, writer, run_id);
    EXPECT_EQ(recorded, 40u);
    EXPECT_EQ(telemetry.last_step_passes(), recorded - 3);  // k, v (as q) and up (as gate)

    const store::RunReader reader(run.workspace);
    std::map<std::string, store::TensorStatsRecord> inputs;  // A by layer name
    for (const store::TensorStatsRecord& r : reader.tensor_stats(run_id)) {
        if (r.tensor_kind == "activation") {
            inputs[r.layer.substr(r.layer.rfind('.') + 1)] = r;
        }
    }
    ASSERT_EQ(inputs.size(), 8u);
    const auto same_stats = [](const store::TensorStatsRecord& a,
                               const store::TensorStatsRecord& b) {
        return a.n == b.n && a.min == b.min && a.max == b.max && a.sum == b.sum &&
               a.sumsq == b.sumsq && a.scale_max == b.scale_max && a.sqnr_db == b.sqnr_db;
    };
    EXPECT_TRUE(same_stats(inputs.at("q"), inputs.at("k")));
    EXPECT_TRUE(same_stats(inputs.at("q"), inputs.at("v")));
    EXPECT_TRUE(same_stats(inputs.at("gate"), inputs.at("up")));
    EXPECT_FALSE(same_stats(inputs.at("q"), inputs.at("o")));  // o reads the attention output
    EXPECT_FALSE(same_stats(inputs.at("q"), inputs.at("gate")));
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
