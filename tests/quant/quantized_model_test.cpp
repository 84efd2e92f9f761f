// The quantized linear inside the models: the Linear hook (plain path when off, quantized path
// when on, in training and evaluation), the telemetry capture, pretty_print, the model-level plan
// and step, and short W8A8G8 training runs of tiny GPT-2 and Llama models on CPU whose loss must
// fall and stay finite.
#include "lowbit/config/recipe.h"
#include "lowbit/model/language_model.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/quant_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

namespace lowbit::quant {
namespace {

config::QuantizerSpec spec(int bits, config::Granularity g, double min_range) {
    config::QuantizerSpec s;
    s.bits = bits;
    s.granularity = g;
    s.min_range = min_range;
    return s;
}

// W8 per-channel, A8 and G8 per-token: the paper's W8A8G8 recipe.
config::Recipe w8a8g8(config::ModelFamily family) {
    config::Recipe r;
    r.seed = 9;
    r.model.family = family;
    r.model.layers = 2;
    r.model.heads = 2;
    r.model.d_model = 32;
    r.model.context = 16;
    r.quant.weight = spec(8, config::Granularity::kPerChannel, 1e-5);
    r.quant.activation = spec(8, config::Granularity::kPerToken, 1e-5);
    r.quant.grad_output = spec(8, config::Granularity::kPerToken, 1e-9);
    return r;
}

constexpr int kVocab = 64;

std::shared_ptr<model::LanguageModelImpl> build(const config::Recipe& r, bool quantized) {
    auto m = model::create_model(model::model_config_from_spec(r.model, kVocab), r.seed);
    if (quantized) {
        m->set_quant_plan(std::make_shared<const QuantPlan>(resolve_quant_plan(r, *m)));
    }
    return m;
}

// Batches of a deterministic sequence t[i+1] = (5·t[i] + 3) mod 64 from random starts: a bigram
// a tiny model learns in a few steps, so a falling loss shows the gradients carry signal.
std::pair<torch::Tensor, torch::Tensor> batch(int64_t step, int64_t rows, int64_t len) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(1000 + step);
    torch::Tensor seq = torch::empty({rows, len + 1}, torch::kInt64);
    seq.select(1, 0).copy_(torch::randint(kVocab, {rows}, gen, torch::kInt64));
    for (int64_t i = 1; i <= len; ++i) {
        seq.select(1, i).copy_((seq.select(1, i - 1) * 5 + 3).remainder(kVocab));
    }
    return {seq.narrow(1, 0, len), seq.narrow(1, 1, len)};
}

TEST(QuantizedModel, LinearHookSwitchesBetweenPlainAndQuantizedForward) {
    const config::Recipe r = w8a8g8(config::ModelFamily::kGpt2);
    auto plain = build(r, false);
    auto quantized = build(r, true);
    const auto [x, y] = batch(0, 2, 16);
    const torch::Tensor plain_logits = plain->forward(x);
    const torch::Tensor quant_logits = quantized->forward(x);
    EXPECT_FALSE(torch::equal(plain_logits, quant_logits));
    // The lm_head alone: its forward equals the explicit W8/A8 formula on its own input.
    model::Linear head = quantized->linears().back();
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(4);
    const torch::Tensor h = torch::randn({2, 16, 32}, gen, torch::kFloat32);
    const torch::Tensor expected =
        torch::mm(fake_quantize(h.reshape({-1, 32}), *head->quantizers()->activation),
                  fake_quantize(head->weight().detach(), *head->quantizers()->weight).t());
    {
        torch::NoGradGuard no_grad;  // evaluation runs the quantized forward too
        EXPECT_TRUE(torch::equal(head->forward(h).reshape({-1, kVocab}), expected));
    }
    // Removing the plan restores the plain model exactly.
    quantized->set_quant_plan(nullptr);
    EXPECT_EQ(quantized->quant_plan(), nullptr);
    EXPECT_TRUE(torch::equal(quantized->forward(x), plain_logits));
    // A plan resolved for another model is refused.
    auto llama = build(w8a8g8(config::ModelFamily::kLlama), false);
    EXPECT_THROW(quantized->set_quant_plan(std::make_shared<const QuantPlan>(
                     resolve_quant_plan(w8a8g8(config::ModelFamily::kLlama), *llama))),
                 c10::Error);
}

TEST(QuantizedModel, PrettyPrintShowsTheQuantizers) {
    auto m = build(w8a8g8(config::ModelFamily::kGpt2), true);
    std::ostringstream text;
    m->linears().front()->pretty_print(text);
    EXPECT_NE(text.str().find("blocks.0.attn.qkv"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("W: 8-bit per-row symmetric nearest"), std::string::npos)
        << text.str();
    EXPECT_NE(text.str().find("G: 8-bit per-row"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("backward paper"), std::string::npos) << text.str();
    std::ostringstream plain;
    build(w8a8g8(config::ModelFamily::kGpt2), false)->linears().front()->pretty_print(plain);
    EXPECT_EQ(plain.str().find("quant"), std::string::npos) << plain.str();
}

TEST(QuantizedModel, CaptureKeepsInputAndOutputGradientOfTrainingSteps) {
    auto m = build(w8a8g8(config::ModelFamily::kGpt2), true);
    model::Linear fc1 = m->linears()[2];
    ASSERT_EQ(fc1->path(), "blocks.0.mlp.fc1");
    const auto [x, y] = batch(1, 3, 16);
    m->forward(x);
    EXPECT_FALSE(fc1->captured_input().x.defined());  // off by default
    fc1->set_capture(true);
    m->train();
    const torch::Tensor loss = model::lm_loss(m->forward(x), y);
    loss.backward();
    const quant::QuantizerInput input = fc1->captured_input();
    const quant::QuantizerInput grad = fc1->captured_grad_output();
    ASSERT_TRUE(input.x.defined() && grad.x.defined());
    EXPECT_EQ(input.x.sizes(), (std::vector<int64_t>{3 * 16, 32}));
    EXPECT_EQ(grad.x.sizes(), (std::vector<int64_t>{3 * 16, 128}));
    EXPECT_FALSE(input.x.requires_grad());
    // Each comes with the quantizer that was applied to it, this step's seed included.
    ASSERT_TRUE(input.params && grad.params);
    EXPECT_EQ(input.params->bits, fc1->quantizers()->activation->bits);
    EXPECT_EQ(grad.params->granularity, fc1->quantizers()->grad_output->granularity);
    // dW of fc1 in paper mode is Q_G(G)ᵀ·X: the captured pair must reproduce it.
    const torch::Tensor dw = torch::mm(fake_quantize(grad.x, *grad.params).t(), input.x);
    EXPECT_LE((dw - fc1->weight().grad()).abs().max().item<double>(),
              1e-6 * dw.abs().max().item<double>());
    // An evaluation pass (eval mode, no grad) leaves the training capture alone.
    m->eval();
    {
        torch::NoGradGuard no_grad;
        m->forward(batch(2, 3, 16).first);
    }
    EXPECT_TRUE(torch::equal(fc1->captured_input().x, input.x));
    fc1->clear_capture();
    EXPECT_FALSE(fc1->captured_input().x.defined());
    EXPECT_TRUE(fc1->capture_enabled());
    fc1->set_capture(false);
    EXPECT_FALSE(fc1->capture_enabled());
}

TEST(QuantizedModel, StepSetterMakesStochasticRoundingReproducible) {
    config::Recipe r = w8a8g8(config::ModelFamily::kLlama);
    r.quant.weight.rounding = config::Rounding::kStochastic;
    r.quant.activation.rounding = config::Rounding::kStochastic;
    auto m = build(r, true);
    m->eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor x = batch(3, 2, 16).first;
    m->set_quant_step(5, 0);
    const torch::Tensor a = m->forward(x);
    m->set_quant_step(6, 0);
    const torch::Tensor b = m->forward(x);
    // A fresh model (as after a resume) set to the same step rounds identically.
    auto resumed = build(r, true);
    resumed->eval();
    resumed->set_quant_step(5, 0);
    EXPECT_TRUE(torch::equal(resumed->forward(x), a));
    EXPECT_FALSE(torch::equal(a, b));
}

// ~20 AdamW steps; returns the per-step training losses.
std::vector<double> train_losses(model::LanguageModelImpl& m, int steps) {
    m.train();
    torch::optim::AdamW opt(m.parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.0));
    std::vector<double> losses;
    for (int step = 0; step < steps; ++step) {
        m.set_quant_step(step, 0);
        const auto [x, y] = batch(100 + step, 8, 16);
        opt.zero_grad();
        const torch::Tensor loss = model::lm_loss(m.forward(x), y);
        loss.backward();
        opt.step();
        losses.push_back(loss.item<double>());
    }
    return losses;
}

TEST(QuantizedModel, W8A8G8TrainingLossFallsAndStaysFinite) {
    for (auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        SCOPED_TRACE(config::to_string(family));
        auto m = build(w8a8g8(family), true);
        ASSERT_TRUE(m->quant_plan()->quantizes_anything());
        const std::vector<double> losses = train_losses(*m, 20);
        for (double l : losses) {
            ASSERT_TRUE(std::isfinite(l));
        }
        // Start near ln(64) = 4.16; a learnable bigram must be well on its way after 20 steps.
        EXPECT_GT(losses.front(), 3.5);
        EXPECT_LT(losses.back(), 0.75 * losses.front()) << "first " << losses.front();
    }
}

}  // namespace
}  // namespace lowbit::quant
