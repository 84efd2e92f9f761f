// Model tests: output shapes, causality, parameter counts against a hand formula, seeded
// initialisation, the tied lm_head, Linear paths/roles, and ModelConfig resolution and JSON.
#include "lowbit/model/gpt2_model.h"
#include "lowbit/model/language_model.h"
#include "lowbit/model/llama_model.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

namespace lowbit::model {
namespace {

ModelConfig tiny(config::ModelFamily family, bool tie, int vocab = 100) {
    ModelConfig c;
    c.family = family;
    c.layers = 2;
    c.heads = 4;
    c.d_model = 32;
    c.d_ff = family == config::ModelFamily::kGpt2 ? 128 : 96;
    c.context = 16;
    c.vocab_size = vocab;
    c.tie_embeddings = tie;
    return c;
}

class ModelTest : public ::testing::TestWithParam<std::tuple<config::ModelFamily, bool>> {
protected:
    ModelConfig cfg() const {
        return tiny(std::get<0>(GetParam()), std::get<1>(GetParam()));
    }
};

TEST_P(ModelTest, LogitsHaveShapeBTVandFp32) {
    auto model = create_model(cfg(), 1);
    auto ids = torch::randint(0, cfg().vocab_size, {3, 7}, torch::kInt64);
    auto logits = model->forward(ids);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7, cfg().vocab_size}));
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    EXPECT_THROW(model->forward(torch::zeros({1, cfg().context + 1}, torch::kInt64)), c10::Error);
}

TEST_P(ModelTest, ChangingTokenTLeavesEarlierLogitsAlone) {
    auto model = create_model(cfg(), 2);
    model->eval();
    torch::NoGradGuard no_grad;
    auto ids = torch::randint(0, cfg().vocab_size, {2, 12}, torch::kInt64);
    auto changed = ids.clone();
    const int64_t t = 6;
    changed.index_put_({torch::indexing::Slice(), t},
                       (ids.index({torch::indexing::Slice(), t}) + 1) % cfg().vocab_size);
    auto a = model->forward(ids);
    auto b = model->forward(changed);
    using torch::indexing::Slice;
    EXPECT_TRUE(torch::equal(a.index({Slice(), Slice(0, t)}), b.index({Slice(), Slice(0, t)})));
    EXPECT_FALSE(torch::allclose(a.index({Slice(), t}), b.index({Slice(), t})));
}

TEST_P(ModelTest, ParameterCountMatchesFormula) {
    const ModelConfig c = cfg();
    const int64_t v = c.vocab_size, d = c.d_model, f = c.d_ff, l = c.layers;
    int64_t expected = 0;
    if (c.family == config::ModelFamily::kGpt2) {
        const int64_t block =
            2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * f + f) + (f * d + d);
        expected = v * d + c.context * d + l * block + 2 * d;
    } else {
        expected = v * d + l * (d + 4 * d * d + d + 3 * d * f) + d;
    }
    if (!c.tie_embeddings) {
        expected += v * d;
    }
    EXPECT_EQ(create_model(c, 0)->parameter_count(), expected);
}

TEST_P(ModelTest, InitialisationIsDeterministicPerSeed) {
    auto a = create_model(cfg(), 42), b = create_model(cfg(), 42), c = create_model(cfg(), 43);
    auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    bool any_different = false;
    for (const auto& item : pa) {
        EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
        any_different |= !torch::equal(item.value(), pc[item.key()]);
    }
    EXPECT_TRUE(any_different);
}

TEST_P(ModelTest, TiedHeadSharesTheEmbeddingStorage) {
    const ModelConfig c = cfg();
    auto model = create_model(c, 3);
    auto params = model->named_parameters();
    auto head = model->linears().back();
    EXPECT_EQ(head->role(), "lm_head");
    EXPECT_EQ(head->weight_is_shared(), c.tie_embeddings);
    EXPECT_EQ(params.contains("lm_head.weight"), !c.tie_embeddings);
    if (c.tie_embeddings) {
        EXPECT_EQ(head->weight().data_ptr(), params["tok_emb.weight"].data_ptr());
    }
}

INSTANTIATE_TEST_SUITE_P(Families,
                         ModelTest,
                         ::testing::Combine(::testing::Values(config::ModelFamily::kGpt2,
                                                              config::ModelFamily::kLlama),
                                            ::testing::Bool()));

TEST(ModelNames, Gpt2ParameterNamesAndLinearOrderAreStable) {
    auto model = create_model(tiny(config::ModelFamily::kGpt2, false), 0);
    auto params = model->named_parameters();
    for (const char* name : {"tok_emb.weight",
                             "pos_emb.weight",
                             "blocks.0.ln1.weight",
                             "blocks.0.ln1.bias",
                             "blocks.0.attn.qkv.weight",
                             "blocks.0.attn.qkv.bias",
                             "blocks.0.attn.out.weight",
                             "blocks.1.ln2.bias",
                             "blocks.1.mlp.fc1.weight",
                             "blocks.1.mlp.fc2.bias",
                             "ln_f.weight",
                             "lm_head.weight"}) {
        EXPECT_TRUE(params.contains(name)) << name;
    }
    std::vector<std::string> paths;
    for (const auto& linear : model->linears()) {
        paths.push_back(linear->path() + ":" + linear->role());
    }
    EXPECT_EQ(paths,
              (std::vector<std::string>{"blocks.0.attn.qkv:qkv",
                                        "blocks.0.attn.out:attn_out",
                                        "blocks.0.mlp.fc1:fc1",
                                        "blocks.0.mlp.fc2:fc2",
                                        "blocks.1.attn.qkv:qkv",
                                        "blocks.1.attn.out:attn_out",
                                        "blocks.1.mlp.fc1:fc1",
                                        "blocks.1.mlp.fc2:fc2",
                                        "lm_head:lm_head"}));
}

TEST(ModelNames, LlamaParameterNamesAndRolesAreStable) {
    auto model = create_model(tiny(config::ModelFamily::kLlama, false), 0);
    auto params = model->named_parameters();
    for (const char* name : {"tok_emb.weight",
                             "blocks.0.norm1.weight",
                             "blocks.0.attn.q.weight",
                             "blocks.0.attn.k.weight",
                             "blocks.0.attn.v.weight",
                             "blocks.0.attn.o.weight",
                             "blocks.0.norm2.weight",
                             "blocks.0.mlp.gate.weight",
                             "blocks.0.mlp.up.weight",
                             "blocks.0.mlp.down.weight",
                             "norm_f.weight",
                             "lm_head.weight"}) {
        EXPECT_TRUE(params.contains(name)) << name;
    }
    EXPECT_FALSE(params.contains("blocks.0.attn.q.bias"));
    auto linears = model->linears();
    ASSERT_EQ(linears.size(), 2u * 7 + 1);
    std::vector<std::string> roles;
    for (int i = 0; i < 7; ++i) {
        roles.push_back(linears[i]->role());
    }
    EXPECT_EQ(roles, (std::vector<std::string>{"q", "k", "v", "o", "gate", "up", "down"}));
    EXPECT_EQ(linears[7]->path(), "blocks.1.attn.q");
}

TEST(ModelInit, Gpt2ResidualProjectionsUseScaledStd) {
    ModelConfig c = tiny(config::ModelFamily::kGpt2, true);
    c.d_model = 128;
    c.d_ff = 512;
    c.layers = 8;
    auto params = create_model(c, 5)->named_parameters();
    const double std = c.init_std, resid = c.init_std / std::sqrt(2.0 * c.layers);
    EXPECT_NEAR(params["blocks.0.attn.qkv.weight"].std().item<double>(), std, std * 0.05);
    EXPECT_NEAR(params["blocks.0.attn.out.weight"].std().item<double>(), resid, resid * 0.05);
    EXPECT_NEAR(params["blocks.3.mlp.fc2.weight"].std().item<double>(), resid, resid * 0.05);
    EXPECT_TRUE(torch::all(params["blocks.0.attn.qkv.bias"] == 0).item<bool>());
    EXPECT_TRUE(torch::all(params["blocks.0.ln1.weight"] == 1).item<bool>());
    EXPECT_TRUE(torch::all(params["ln_f.bias"] == 0).item<bool>());
}

TEST(ModelConfigTest, FromSpecResolvesVocabAndFeedForward) {
    config::ModelSpec spec;
    spec.family = config::ModelFamily::kLlama;
    spec.d_model = 64;
    auto c = model_config_from_spec(spec, 256);
    EXPECT_EQ(c.vocab_size, 256);
    EXPECT_EQ(c.d_ff, 192);  // 8/3·64 = 170.7 -> 192
    spec.family = config::ModelFamily::kGpt2;
    spec.vocab_size = 300;
    c = model_config_from_spec(spec, 256);
    EXPECT_EQ(c.vocab_size, 300);
    EXPECT_EQ(c.d_ff, 256);
    spec.vocab_size = 100;
    EXPECT_THROW(model_config_from_spec(spec, 256), std::invalid_argument);
    spec.vocab_size = 0;
    spec.heads = 5;
    EXPECT_THROW(model_config_from_spec(spec, 256), std::invalid_argument);
}

TEST(ModelConfigTest, JsonRoundTripAndMissingKey) {
    ModelConfig c = tiny(config::ModelFamily::kLlama, true, 300);
    c.rope_theta = 500.0;
    c.dropout = 0.1;
    auto j = to_json(c);
    EXPECT_EQ(model_config_from_json(j), c);
    j.erase("d_ff");
    try {
        model_config_from_json(j);
        FAIL() << "expected an error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'d_ff'"), std::string::npos) << e.what();
    }
}

TEST(LmLoss, MatchesLogOfUniformForZeroLogits) {
    auto logits = torch::zeros({2, 3, 50});
    auto targets = torch::randint(0, 50, {2, 3}, torch::kInt64);
    EXPECT_NEAR(lm_loss(logits, targets).item<double>(), std::log(50.0), 1e-6);
    auto random = torch::randn({4, 10});
    auto t = torch::randint(0, 10, {4}, torch::kInt64);
    auto manual = -torch::log_softmax(random, -1).gather(1, t.unsqueeze(1)).mean();
    EXPECT_NEAR(lm_loss(random, t).item<double>(), manual.item<double>(), 1e-6);
}

}  // namespace
}  // namespace lowbit::model
