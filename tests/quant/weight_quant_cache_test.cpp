// Q_W(W) kept between optimizer steps (docs/quantized-pretraining.md §Quantized weights once per
// step): computed once per weight version, recomputed after every kind of update (in-place op,
// fp32 AdamW, quantized AdamW writing through the data pointer), never for stochastic rounding,
// and the model's outputs equal those of a fresh model that never cached anything.
#include "lowbit/quant/weight_quant_cache.h"

#include "lowbit/config/recipe.h"
#include "lowbit/model/language_model.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/train/make_optimizer.h"

#include <gtest/gtest.h>

namespace lowbit::quant {
namespace {

kernels::FakeQuantParams per_channel(int bits) {
    kernels::FakeQuantParams p;
    p.bits = bits;
    p.granularity = kernels::Granularity::kPerChannel;
    return p;
}

TEST(WeightQuantCache, ComputesOncePerVersionAndAgainAfterAnyChange) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
    torch::Tensor w = torch::randn({12, 20}, gen, torch::kFloat32).requires_grad_(true);
    WeightQuantCache cache;
    const auto p8 = per_channel(8);
    const torch::Tensor first = cache.get(w, p8, config::QuantArithmetic::kFp32);
    EXPECT_TRUE(torch::equal(first, fake_quantize(w.detach(), p8)));
    EXPECT_FALSE(first.requires_grad());
    const torch::Tensor again = cache.get(w, p8, config::QuantArithmetic::kFp32);
    EXPECT_EQ(cache.computations(), 1);
    EXPECT_TRUE(again.is_same(first));

    {
        torch::NoGradGuard no_grad;
        w.add_(0.25f);  // an in-place update bumps the version
    }
    const torch::Tensor updated = cache.get(w, p8, config::QuantArithmetic::kFp32);
    EXPECT_EQ(cache.computations(), 2);
    EXPECT_TRUE(torch::equal(updated, fake_quantize(w.detach(), p8)));
    EXPECT_FALSE(torch::equal(updated, first));

    const auto p4 = per_channel(4);  // another quantizer
    EXPECT_TRUE(torch::equal(cache.get(w, p4, config::QuantArithmetic::kFp32),
                             fake_quantize(w.detach(), p4)));
    EXPECT_EQ(cache.computations(), 3);

    const torch::Tensor other = w.detach().clone();  // same values, another tensor
    cache.get(other, p4, config::QuantArithmetic::kFp32);
    EXPECT_EQ(cache.computations(), 4);

    auto stochastic = p8;
    stochastic.rounding = kernels::Rounding::kStochastic;
    EXPECT_FALSE(WeightQuantCache::cacheable(stochastic));
    EXPECT_THROW(cache.get(w, stochastic, config::QuantArithmetic::kFp32), c10::Error);
}

constexpr int kVocab = 48;

config::Recipe recipe(bool quantized_moments, config::Rounding weight_rounding) {
    config::Recipe r;
    r.seed = 5;
    r.model.family = config::ModelFamily::kGpt2;
    r.model.layers = 2;
    r.model.heads = 2;
    r.model.d_model = 32;
    r.model.context = 8;
    config::QuantizerSpec w;
    w.bits = 8;
    w.granularity = config::Granularity::kPerChannel;
    w.rounding = weight_rounding;
    r.quant.weight = w;
    config::QuantizerSpec a = w;
    a.granularity = config::Granularity::kPerToken;
    a.rounding = config::Rounding::kNearest;
    r.quant.activation = a;
    if (quantized_moments) {
        config::QuantizerSpec m;
        m.bits = 8;
        m.granularity = config::Granularity::kPerChannel;
        m.min_range = 1e-8;
        r.quant.optim_m = m;
        r.quant.optim_v = m;
    }
    return r;
}

std::shared_ptr<model::LanguageModelImpl> build(const config::Recipe& r) {
    auto m = model::create_model(model::model_config_from_spec(r.model, kVocab), r.seed);
    m->set_quant_plan(std::make_shared<const QuantPlan>(resolve_quant_plan(r, *m)));
    return m;
}

std::vector<std::int64_t> quantizations(const model::LanguageModelImpl& m) {
    std::vector<std::int64_t> counts;
    for (const auto& linear : m.linears()) {
        counts.push_back(linear->weight_quantizations());
    }
    return counts;
}

// Two micro-batches, an optimizer step, an evaluation forward, and the same again: each layer
// quantizes its weight once per step, and the forward after each step equals a fresh model's
// (which has no cache) with the same weights.
void check_training_reuses_q_w(bool quantized_moments) {
    const config::Recipe r = recipe(quantized_moments, config::Rounding::kNearest);
    auto m = build(r);
    auto optimizer = train::make_optimizer(r, *m);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(11);
    const torch::Tensor x = torch::randint(kVocab, {2, 8}, gen, torch::kInt64);
    const torch::Tensor y = torch::randint(kVocab, {2, 8}, gen, torch::kInt64);
    for (int step = 1; step <= 2; ++step) {
        m->train();
        for (int micro = 0; micro < 2; ++micro) {
            m->set_quant_step(step - 1, micro);
            model::lm_loss(m->forward(x), y).backward();
        }
        for (std::int64_t c : quantizations(*m)) {
            EXPECT_EQ(c, step);
        }
        optimizer->step(1e-2);
        m->eval();
        torch::Tensor logits;
        {
            torch::NoGradGuard no_grad;
            logits = m->forward(x);
            m->forward(x);  // a second evaluation batch: still the same Q_W(W)
        }
        for (std::int64_t c : quantizations(*m)) {
            EXPECT_EQ(c, step + 1) << "after the step the weights are quantized once more";
        }
        auto fresh = build(r);
        {
            torch::NoGradGuard no_grad;
            const auto src = m->named_parameters();
            for (auto& p : fresh->named_parameters()) {
                p.value().copy_(src[p.key()]);
            }
            fresh->eval();
            EXPECT_TRUE(torch::equal(fresh->forward(x), logits)) << "step " << step;
        }
        for (auto& p : m->parameters()) {
            p.mutable_grad() = torch::Tensor();
        }
    }
}

TEST(WeightQuantCache, TrainingWithFp32AdamWQuantizesOncePerStep) {
    check_training_reuses_q_w(false);
}

TEST(WeightQuantCache, TrainingWithQuantizedAdamWQuantizesOncePerStep) {
    check_training_reuses_q_w(true);
}

TEST(WeightQuantCache, StochasticWeightRoundingIsNeverKept) {
    const config::Recipe r = recipe(false, config::Rounding::kStochastic);
    auto m = build(r);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(12);
    const torch::Tensor x = torch::randint(kVocab, {2, 8}, gen, torch::kInt64);
    m->set_quant_step(0, 0);
    m->forward(x);
    m->forward(x);
    for (std::int64_t c : quantizations(*m)) {
        EXPECT_EQ(c, 0);
    }
}

}  // namespace
}  // namespace lowbit::quant
