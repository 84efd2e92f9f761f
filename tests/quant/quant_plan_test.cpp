// resolve_quant_plan: scope, section entries and overrides per layer, and every rejected quant:
// section (bit-width 1 or 9, unknown scope role, group size that does not divide a layer width,
// override matching no quantized layer) through the API (util::BadInput) and through the recipe
// reader (config::RecipeError), plus the config's layer list (used by `lowbit recipe check`)
// against the models' own Linear paths.
#include "lowbit/quant/quant_plan.h"

#include "lowbit/config/quant_layers.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/model/language_model.h"
#include "lowbit/util/exit_codes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lowbit::quant {
namespace {

using ::testing::HasSubstr;

constexpr int kByteVocab = 256;

// A tiny model of the recipe's family and sizes: 2 blocks, d_model 32.
config::Recipe tiny_recipe(config::ModelFamily family) {
    config::Recipe r;
    r.model.family = family;
    r.model.layers = 2;
    r.model.heads = 2;
    r.model.d_model = 32;
    r.model.context = 16;
    return r;
}

std::shared_ptr<model::LanguageModelImpl> build(const config::Recipe& r) {
    return model::create_model(model::model_config_from_spec(r.model, kByteVocab), r.seed);
}

config::QuantizerSpec bits(int b, config::Granularity g = config::Granularity::kPerChannel) {
    config::QuantizerSpec s;
    s.bits = b;
    s.granularity = g;
    return s;
}

config::QuantOverride weight_override(std::string layers, const config::QuantizerSpec& weight) {
    config::QuantOverride o;
    o.layers = std::move(layers);
    o.weight = weight;
    return o;
}

// The BadInput message of resolving r, or "" when it resolves.
std::string plan_error(const config::Recipe& r) {
    const auto m = build(r);
    try {
        resolve_quant_plan(r, *m);
    } catch (const util::BadInput& e) {
        return e.what();
    }
    return "";
}

// The RecipeError message of reading `yaml`, or "" when it reads.
std::string config_error(const std::string& yaml) {
    try {
        config::parse_recipe_yaml(yaml, "bad.yaml");
    } catch (const config::RecipeError& e) {
        return e.what();
    }
    return "";
}

const std::string kTinyGpt2 =
    "model: {family: gpt2, layers: 2, heads: 2, d_model: 32, context: 16}\n";

TEST(QuantPlan, ConfigLayerPathsAreTheModelsLinearPaths) {
    for (auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        const config::Recipe r = tiny_recipe(family);
        const auto m = build(r);
        const std::vector<config::QuantLayer> layers = config::quant_layers(r.model);
        const std::vector<model::Linear> linears = m->linears();
        ASSERT_EQ(layers.size(), linears.size());
        for (size_t i = 0; i < layers.size(); ++i) {
            EXPECT_EQ(layers[i].path, linears[i]->path());
            EXPECT_EQ(layers[i].role, linears[i]->role());
        }
    }
    EXPECT_TRUE(config::layer_pattern_matches("blocks.0.*", "blocks.0.attn.qkv"));
    EXPECT_FALSE(config::layer_pattern_matches("blocks.0.*", "blocks.10.attn.qkv"));
    EXPECT_TRUE(config::layer_pattern_matches("*.fc1", "blocks.1.mlp.fc1"));
    EXPECT_TRUE(config::layer_pattern_matches("*", "lm_head"));
    EXPECT_TRUE(config::layer_pattern_matches("lm_head", "lm_head"));
    EXPECT_FALSE(config::layer_pattern_matches("lm", "lm_head"));
    EXPECT_TRUE(config::layer_pattern_matches("blocks.*.attn.*", "blocks.1.attn.out"));
}

TEST(QuantPlan, EmptyScopeQuantizesEveryLinearIncludingLmHead) {
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.weight = bits(8);
    r.quant.activation = bits(8, config::Granularity::kPerToken);
    r.quant.grad_output = bits(8, config::Granularity::kPerToken);
    r.quant.grad_output.min_range = 1e-9;
    const auto m = build(r);
    const QuantPlan plan = resolve_quant_plan(r, *m);
    ASSERT_EQ(plan.layers.size(), 9u);  // 2 blocks x (qkv, out, fc1, fc2) + lm_head
    for (size_t i = 0; i < plan.layers.size(); ++i) {
        const LayerQuantizers& q = *plan.layers[i];
        EXPECT_EQ(q.path, m->linears()[i]->path());
        EXPECT_EQ(q.layer_index, static_cast<int64_t>(i));
        ASSERT_TRUE(q.weight && q.activation && q.grad_output) << q.path;
        EXPECT_EQ(q.weight->granularity, kernels::Granularity::kPerChannel);
        EXPECT_EQ(q.weight->min_range, 1e-5f);
        EXPECT_EQ(q.grad_output->min_range, 1e-9f);
        EXPECT_FALSE(q.optim_m || q.optim_v);
        EXPECT_EQ(q.grad_output_blocks, 1);
    }
    EXPECT_NE(plan.find("lm_head"), nullptr);
    EXPECT_TRUE(plan.quantizes_anything());
    // Nothing on: every entry is off and the model keeps plain linears.
    const config::Recipe off = tiny_recipe(config::ModelFamily::kGpt2);
    EXPECT_FALSE(resolve_quant_plan(off, *m).quantizes_anything());
}

TEST(QuantPlan, ScopeSelectsRolesAndSplitAppliesToQkvOnly) {
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.grad_output = bits(8, config::Granularity::kPerToken);
    r.quant.scope = {"qkv", "fc1"};
    r.quant.split_qkv_grad = true;
    const QuantPlan plan = resolve_quant_plan(r, *build(r));
    for (const auto& q : plan.layers) {
        const bool scoped = q->role == "qkv" || q->role == "fc1";
        EXPECT_EQ(q->grad_output.has_value(), scoped) << q->path;
        EXPECT_EQ(q->grad_output_blocks, q->role == "qkv" ? 3 : 1) << q->path;
    }
    config::Recipe llama = tiny_recipe(config::ModelFamily::kLlama);
    llama.quant.weight = bits(4);
    llama.quant.scope = {"q", "down", "lm_head"};
    int quantized = 0;
    for (const auto& q : resolve_quant_plan(llama, *build(llama)).layers) {
        quantized += q->weight ? 1 : 0;
        EXPECT_EQ(q->weight.has_value(),
                  q->role == "q" || q->role == "down" || q->role == "lm_head");
    }
    EXPECT_EQ(quantized, 5);  // q and down in 2 blocks + lm_head
}

TEST(QuantPlan, FusedLlamaPathsAndSplitQkvGradient) {
    config::Recipe r = tiny_recipe(config::ModelFamily::kLlama);
    r.model.fused_qkv = true;
    r.model.fused_gate_up = true;
    const auto m = build(r);
    const std::vector<config::QuantLayer> layers = config::quant_layers(r.model);
    const std::vector<model::Linear> linears = m->linears();
    ASSERT_EQ(layers.size(), 9u);  // 2 blocks x (qkv, o, gate_up, down) + lm_head
    ASSERT_EQ(layers.size(), linears.size());
    for (size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(layers[i].path, linears[i]->path());
        EXPECT_EQ(layers[i].role, linears[i]->role());
    }
    EXPECT_EQ(linears[0]->out_features(), 3 * 32);
    EXPECT_EQ(linears[2]->out_features(), 2 * m->config().d_ff);
    // The split q/k/v gradient applies to the fused Llama qkv too: three blocks of d_model.
    r.quant.grad_output = bits(8, config::Granularity::kPerToken);
    r.quant.split_qkv_grad = true;
    for (const auto& q : resolve_quant_plan(r, *m).layers) {
        EXPECT_EQ(q->grad_output_blocks, q->role == "qkv" ? 3 : 1) << q->path;
    }
}

TEST(QuantPlan, OverridesKeepFirstBlockAndLmHeadAt8BitsLaterOnesWin) {
    const config::Recipe r = config::parse_recipe_yaml(kTinyGpt2 + R"(quant:
  weight: {bits: 4, granularity: per_channel}
  activation: {bits: 4, granularity: per_token}
  overrides:
    - {layers: "blocks.0.*", weight: {bits: 8}, activation: {bits: 8}}
    - {layers: lm_head, weight: {bits: 6, granularity: per_tensor}}
    - {layers: lm_head, weight: {bits: 8}}
)",
                                                       "r.yaml");
    const QuantPlan plan = resolve_quant_plan(r, *build(r));
    for (const auto& q : plan.layers) {
        SCOPED_TRACE(q->path);
        const bool first_block = q->path.starts_with("blocks.0.");
        const bool head = q->path == "lm_head";
        ASSERT_TRUE(q->weight && q->activation);
        EXPECT_EQ(q->weight->bits, first_block || head ? 8 : 4);
        // lm_head: the last override wins whole (its unset granularity is the default per-row).
        EXPECT_EQ(q->weight->granularity, kernels::Granularity::kPerChannel);
        // An override that does not name a tensor leaves the section's entry for it.
        EXPECT_EQ(q->activation->bits, first_block ? 8 : 4);
    }
}

TEST(QuantPlan, BitWidthOneOrNineIsRejected) {
    for (int b : {1, 9}) {
        config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
        r.quant.activation.bits = b;
        EXPECT_THAT(plan_error(r), HasSubstr("quant.activation.bits: " + std::to_string(b)));
        EXPECT_THAT(plan_error(r), HasSubstr("expected 2..8, or 16/32"));
        const std::string yaml = "quant:\n  weight: {bits: " + std::to_string(b) + "}\n";
        EXPECT_THAT(config_error(yaml), HasSubstr("bad.yaml:2:"));
        EXPECT_THAT(config_error(yaml), HasSubstr("quant.weight.bits"));
        EXPECT_THAT(config_error(yaml), HasSubstr("not a supported bit-width"));
    }
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.overrides.push_back(weight_override("lm_head", bits(9)));
    EXPECT_THAT(plan_error(r), HasSubstr("quant.overrides[0].weight.bits: 9"));
}

TEST(QuantPlan, GroupSizeMustDivideTheWidthItAppliesTo) {
    // d_model 32, d_ff 128: 48 divides no input width.
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.weight = bits(4, config::Granularity::kPerGroup);
    r.quant.weight.group_size = 48;
    EXPECT_THAT(plan_error(r),
                HasSubstr("quant.weight.group_size: 48 does not divide 32, the input width of "
                          "layer blocks.0.attn.qkv"));
    EXPECT_THAT(config_error(kTinyGpt2 + "quant:\n  weight: {bits: 4, granularity: per_group, "
                                         "group_size: 48}\n"),
                HasSubstr("quant.weight.group_size"));
    // G groups run along the output width: 48 divides qkv's 96 outputs, but not one q/k/v block
    // (32) once split_qkv_grad is on.
    config::Recipe g = tiny_recipe(config::ModelFamily::kGpt2);
    g.quant.grad_output = bits(8, config::Granularity::kPerGroup);
    g.quant.grad_output.group_size = 48;
    g.quant.scope = {"qkv"};
    EXPECT_EQ(plan_error(g), "");
    g.quant.split_qkv_grad = true;
    EXPECT_THAT(plan_error(g),
                HasSubstr("quant.grad_output.group_size: 48 does not divide 32, the width of one "
                          "q/k/v block"));
    EXPECT_THAT(config_error(kTinyGpt2 + "quant:\n  grad_output: {bits: 8, granularity: "
                                         "per_group, group_size: 48}\n  scope: [qkv]\n"
                                         "  split_qkv_grad: true\n"),
                HasSubstr("one q/k/v block"));
    // The lm_head's output width is the tokenizer's vocabulary (256 here), which the recipe
    // reader cannot know: only the plan catches a group of 24 there.
    config::Recipe head = tiny_recipe(config::ModelFamily::kGpt2);
    head.quant.grad_output = bits(8, config::Granularity::kPerGroup);
    head.quant.grad_output.group_size = 24;  // divides qkv's 96 outputs, not the vocabulary
    head.quant.scope = {"qkv", "lm_head"};
    EXPECT_THAT(plan_error(head),
                HasSubstr("does not divide 256, the output width of layer lm_head"));
    // Overrides are checked on the layers they select only.
    config::Recipe o = tiny_recipe(config::ModelFamily::kGpt2);
    o.quant.overrides.push_back(weight_override("*.fc2", bits(4, config::Granularity::kPerGroup)));
    o.quant.overrides[0].weight->group_size = 64;  // divides fc2's 128 inputs only
    EXPECT_EQ(plan_error(o), "");
    EXPECT_EQ(config_error(kTinyGpt2 + "quant:\n  overrides:\n    - {layers: '*.fc2', weight: "
                                       "{bits: 4, granularity: per_group, group_size: 64}}\n"),
              "");
    o.quant.overrides[0].layers = "blocks.1.*";
    EXPECT_THAT(plan_error(o),
                HasSubstr("quant.overrides[0].weight.group_size: 64 does not divide 32, the "
                          "input width of layer blocks.1.attn.qkv"));
}

TEST(QuantPlan, ScopeNamingNoLayerOfTheModelIsRejected) {
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.scope = {"fc1", "gate"};
    EXPECT_THAT(plan_error(r), HasSubstr("quant.scope: 'gate' is not a linear of this gpt2 model"));
    EXPECT_THAT(plan_error(r), HasSubstr("qkv, attn_out, fc1, fc2, lm_head"));
    const std::string e = config_error(kTinyGpt2 + "quant:\n  scope: [fc1, gate]\n");
    EXPECT_THAT(e, HasSubstr("quant.scope"));
    EXPECT_THAT(e, HasSubstr("'gate' is not a linear of a gpt2 model"));
}

TEST(QuantPlan, OverrideMatchingNothingIsRejected) {
    config::Recipe r = tiny_recipe(config::ModelFamily::kGpt2);
    r.quant.overrides.push_back(weight_override("blocks.0.*", bits(8)));
    r.quant.overrides.push_back(weight_override("blocks.7.*", bits(8)));  // only 2 blocks
    EXPECT_THAT(plan_error(r),
                HasSubstr("quant.overrides[1].layers: 'blocks.7.*' matches no quantized linear"));
    std::string e = config_error(kTinyGpt2 +
                                 "quant:\n  overrides:\n    - {layers: \"block.0.*\", weight: "
                                 "{bits: 8}}\n");
    EXPECT_THAT(e, HasSubstr("bad.yaml:4:"));
    EXPECT_THAT(e, HasSubstr("quant.overrides[0].layers"));
    EXPECT_THAT(e, HasSubstr("'block.0.*' matches no linear of this gpt2 model with 2 blocks"));
    // A pattern that only selects layers outside quant.scope would change nothing either.
    r.quant.overrides.pop_back();
    r.quant.scope = {"fc1"};
    r.quant.overrides[0].layers = "*.attn.*";
    EXPECT_THAT(plan_error(r), HasSubstr("'*.attn.*' matches no quantized linear"));
    e = config_error(kTinyGpt2 +
                     "quant:\n  scope: [fc1]\n  overrides:\n    - {layers: \"*.attn.*\", weight: "
                     "{bits: 8}}\n");
    EXPECT_THAT(e, HasSubstr("matches only linears outside quant.scope (fc1)"));
}

}  // namespace
}  // namespace lowbit::quant
