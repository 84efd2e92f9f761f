// The quant: section of the recipe: defaults (off), a W8A8G8 per-token recipe, scope per family,
// per-layer overrides, every validation error with its location, --set, JSON and YAML round trips.
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {

using ::testing::HasSubstr;

TEST(RecipeQuant, DefaultsAreOff) {
    const QuantSpec q;
    EXPECT_FALSE(q.enabled());
    EXPECT_EQ(q.weight.bits, 32);
    EXPECT_EQ(q.weight.granularity, Granularity::kPerChannel);
    EXPECT_EQ(q.activation.granularity, Granularity::kPerToken);
    EXPECT_EQ(q.weight.min_range, 1e-5);
    EXPECT_EQ(q.activation.min_range, 1e-5);
    EXPECT_EQ(q.grad_output.min_range, 1e-9);
    EXPECT_EQ(q.optim_m.min_range, 1e-8);
    EXPECT_EQ(q.optim_v.min_range, 1e-8);
    EXPECT_EQ(q.weight.grid, QuantGrid::kReference);
    EXPECT_EQ(q.backward, BackwardMode::kPaper);
    EXPECT_TRUE(q.scope.empty());
    EXPECT_EQ(parse_recipe_yaml("name: x\n", "r").quant, QuantSpec{});
    EXPECT_STREQ(to_string(Granularity::kPerGroup), "per_group");
    EXPECT_STREQ(to_string(BackwardMode::kSwitchback), "switchback");
}

TEST(RecipeQuant, W8A8G8PerToken) {
    const Recipe r = parse_recipe_yaml(R"(quant:
  weight: {bits: 8, granularity: per_channel}
  activation: {bits: 8, granularity: per_token}
  grad_output: {bits: 8, granularity: per_token, min_range: 1.0e-9}
  optim_m: {bits: 4, granularity: per_group, group_size: 32, rounding: stochastic, grid: full}
  backward: switchback
  split_qkv_grad: true
)",
                                       "r");
    EXPECT_TRUE(r.quant.enabled());
    EXPECT_EQ(r.quant.weight.bits, 8);
    EXPECT_EQ(r.quant.activation.granularity, Granularity::kPerToken);
    EXPECT_EQ(r.quant.optim_m.group_size, 32);
    EXPECT_EQ(r.quant.optim_m.rounding, Rounding::kStochastic);
    EXPECT_EQ(r.quant.optim_m.grid, QuantGrid::kFull);
    EXPECT_FALSE(r.quant.optim_v.enabled());
    EXPECT_EQ(r.quant.backward, BackwardMode::kSwitchback);
    EXPECT_TRUE(r.quant.split_qkv_grad);
    const Recipe s = parse_recipe_yaml("", "r", {"quant.weight.bits=8", "quant.scope=[fc1]"});
    EXPECT_EQ(s.quant.weight.bits, 8);
    EXPECT_EQ(s.quant.scope, std::vector<std::string>{"fc1"});
    EXPECT_EQ(apply_overrides(Recipe{}, {"quant.activation.bits=4"}).quant.activation.bits, 4);
}

TEST(RecipeQuant, ScopePerFamily) {
    EXPECT_EQ(parse_recipe_yaml("quant: {scope: [qkv, attn_out, fc1, fc2, lm_head]}", "r")
                  .quant.scope.size(),
              5u);
    EXPECT_EQ(parse_recipe_yaml(
                  "model: {family: llama}\nquant: {scope: [q, k, v, o, gate, up, down]}", "r")
                  .quant.scope.size(),
              7u);
    expect_error("quant:\n  scope: [fc1, fc3]\n", 2, 10, "quant.scope", "'fc3' is not a linear");
    expect_error("quant:\n  scope: [fc1, fc3]\n", 2, 10, "quant.scope", "did you mean 'fc1'?");
    expect_error("model: {family: llama}\nquant:\n  scope: [qkv]\n",
                 3,
                 10,
                 "quant.scope",
                 "expected some of: q, k, v, o, gate, up, down, lm_head");
    expect_error("model: {family: llama}\nquant:\n  split_qkv_grad: true\n",
                 3,
                 19,
                 "quant.split_qkv_grad",
                 "fused qkv only");
}

// The int8 forward GEMM multiplies integer codes, so W and A must be on, symmetric and signed,
// with scales per tensor or per row; each error points at the entry (or at forward_gemm when the
// entry is not written) and names both keys.
TEST(RecipeQuant, Int8ForwardGemmNeedsSymmetricSignedRowScaledWeightsAndActivations) {
    const std::string int8 = "quant:\n  forward_gemm: int8\n";
    const Recipe w4a8 = parse_recipe_yaml(
        int8 + "  weight: {bits: 4, granularity: per_tensor}\n  activation: {bits: 8}\n", "r");
    EXPECT_EQ(w4a8.quant.forward_gemm, ForwardGemm::kInt8);
    EXPECT_EQ(parse_recipe_yaml("name: x\n", "r").quant.forward_gemm, ForwardGemm::kFakeQuant);
    expect_error(int8 + "  activation: {bits: 8}\n",
                 2,
                 17,
                 "quant.weight.bits",
                 {"32 leaves it in full precision", "quant.forward_gemm: int8"});
    expect_error(int8 + "  weight: {bits: 8}\n  activation: {bits: 8, symmetric: false}\n",
                 4,
                 36,
                 "quant.activation.symmetric",
                 {"zero point", "quant.forward_gemm: fake_quant"});
    expect_error(int8 + "  weight: {bits: 8}\n  activation: {bits: 8, signed: false}\n",
                 4,
                 33,
                 "quant.activation.signed",
                 "unsigned codes");
    expect_error(int8 + "  weight: {bits: 8}\n  activation: {bits: 8, granularity: per_group}\n",
                 4,
                 38,
                 "quant.activation.granularity",
                 "expected per_tensor or per_token");
    expect_error(int8 +
                     "  weight: {bits: 8}\n  activation: {bits: 8}\n  overrides:\n"
                     "    - {layers: lm_head, weight: {bits: 8, symmetric: false}}\n",
                 6,
                 5,
                 "quant.overrides[0].weight.symmetric",
                 "zero point");
    expect_error(int8 + "  weight: {bits: 8}\n  activation: {bits: 8}\n  arithmetic: input\n",
                 5,
                 15,
                 "quant.arithmetic",
                 "computes the codes in float32");
}

TEST(RecipeQuant, BitWidthsAndGranularities) {
    expect_error("quant:\n  weight:\n    bits: 9\n",
                 3,
                 11,
                 "quant.weight.bits",
                 "9 is not a supported bit-width (expected 2..8, or 16/32 for off)");
    expect_error("quant:\n  grad_output: {bits: 1}\n",
                 2,
                 23,
                 "quant.grad_output.bits",
                 "1 is not a supported");
    EXPECT_EQ(parse_recipe_yaml("quant: {weight: {bits: 16}}", "r").quant.weight.enabled(), false);
    expect_error("quant:\n  weight:\n    granularity: per_token\n",
                 3,
                 18,
                 "quant.weight.granularity",
                 "per_channel gives one scale per output row");
    expect_error("quant:\n  activation:\n    granularity: per_channel\n",
                 3,
                 18,
                 "quant.activation.granularity",
                 "per_token gives one scale per row");
    expect_error("quant:\n  optim_v: {granularity: per_token}\n",
                 2,
                 26,
                 "quant.optim_v.granularity",
                 "per_token is for activations");
    expect_error("quant:\n  weight: {group_size: 1}\n", 2, 24, "quant.weight.group_size", "[2,");
    expect_error("quant:\n  weight: {granularity: nope}\n",
                 2,
                 25,
                 "quant.weight.granularity",
                 "one of: per_tensor, per_channel, per_block, per_token, per_group");
    const RecipeError e = parse_error("", {"quant.weight.bits=9"});
    EXPECT_EQ(e.file(), "--set quant.weight.bits=9");
}

TEST(RecipeQuant, GroupSizeMustDivideWidths) {
    // d_model 128, GPT-2 d_ff 512: 64 divides both, 96 divides neither.
    EXPECT_NO_THROW(parse_recipe_yaml(
        "quant: {weight: {bits: 4, granularity: per_group, group_size: 64}}", "r"));
    expect_error("quant:\n  weight:\n    granularity: per_group\n    group_size: 96\n",
                 4,
                 17,
                 "quant.weight.group_size",
                 "96 does not divide 128, the input width of qkv (model.d_model)");
    // Only fc2 reads d_ff = 640 (not a multiple of 256); scope without fc2 is fine.
    const std::string base =
        "model: {d_model: 256, d_ff: 640}\nquant:\n  activation: "
        "{granularity: per_group, group_size: 256}\n";
    expect_error(base, 3, 52, "quant.activation.group_size", "input width of fc2");
    EXPECT_NO_THROW(parse_recipe_yaml(base + "  scope: [qkv, fc1]\n", "r"));
    // G is [B*T, out]: qkv's output is 3*d_model = 384.
    expect_error(
        "model: {d_model: 128}\nquant:\n  grad_output: {granularity: per_group, "
        "group_size: 256}\n",
        3,
        53,
        "quant.grad_output.group_size",
        "384, the output width of qkv (3*model.d_model)");
}

TEST(RecipeQuant, PerBlockIsForOptimizerStatesWithoutDivisibility) {
    // Flat blocks of the stored state may straddle rows: 256 need not divide d_model 128.
    const Recipe r = parse_recipe_yaml(
        "model: {d_model: 128}\nquant:\n  optim_m: {bits: 8, granularity: per_block, "
        "group_size: 256}\n  optim_v: {bits: 8, granularity: per_group, group_size: 64}\n",
        "r");
    EXPECT_EQ(r.quant.optim_m.granularity, Granularity::kPerBlock);
    EXPECT_EQ(r.quant.optim_m.group_size, 256);
    EXPECT_STREQ(to_string(Granularity::kPerBlock), "per_block");
    expect_error("quant:\n  weight: {granularity: per_block}\n",
                 2,
                 25,
                 "quant.weight.granularity",
                 "per_block is for optimizer states only (expected per_tensor, per_channel or "
                 "per_group;");
    expect_error("quant:\n  activation: {granularity: per_block}\n",
                 2,
                 29,
                 "quant.activation.granularity",
                 "(expected per_tensor, per_token, per_group or per_position;");
    // per_group keeps its meaning for states: groups along the row, so it must divide it.
    expect_error(
        "model: {d_model: 128}\nquant:\n  optim_v: {granularity: per_group, "
        "group_size: 256}\n",
        3,
        49,
        "quant.optim_v.group_size",
        "256 does not divide 128");
}

TEST(RecipeQuant, Overrides) {
    const Recipe r = parse_recipe_yaml(R"(quant:
  weight: {bits: 4}
  overrides:
    - layers: "blocks.0.*"
      weight: {bits: 8}
      activation: {bits: 8}
    - {layers: lm_head, weight: {bits: 8, granularity: per_tensor}}
)",
                                       "r");
    ASSERT_EQ(r.quant.overrides.size(), 2u);
    EXPECT_EQ(r.quant.overrides[0].layers, "blocks.0.*");
    ASSERT_TRUE(r.quant.overrides[0].weight);
    EXPECT_EQ(r.quant.overrides[0].weight->bits, 8);
    EXPECT_EQ(r.quant.overrides[0].activation->granularity, Granularity::kPerToken);
    EXPECT_FALSE(r.quant.overrides[0].grad_output);
    EXPECT_EQ(r.quant.overrides[1].weight->granularity, Granularity::kPerTensor);
    expect_error("quant:\n  overrides:\n    - {layers: x, weight: {bits: 9}}\n",
                 3,
                 34,
                 "quant.overrides[0].weight.bits",
                 "not a supported bit-width");
    expect_error("quant:\n  overrides:\n    - {layers: x, wieght: {bits: 8}}\n",
                 3,
                 19,
                 "quant.overrides[0].wieght",
                 "unknown key 'wieght'");
    expect_error(
        "quant:\n  overrides:\n    - {weight: {bits: 8}}\n", 3, 5, "quant.overrides", "no layers");
    expect_error("quant:\n  overrides:\n    - {layers: x, weight: {granularity: per_token}}\n",
                 3,
                 5,
                 "quant.overrides[0].weight.granularity",
                 "per_token is for activations");
    const Recipe s =
        parse_recipe_yaml("", "r", {"quant.overrides=[{layers: lm_head, weight: {bits: 8}}]"});
    EXPECT_TRUE(s.quant.enabled());
}

TEST(RecipeQuant, UnsignedGridPerPositionAndArithmetic) {
    const Recipe r = parse_recipe_yaml(R"(quant:
  weight: {bits: 8, signed: false, symmetric: false}
  activation: {bits: 8, granularity: per_position, signed: false}
  grad_output: {bits: 8, granularity: per_position}
  arithmetic: input
)",
                                       "r");
    EXPECT_FALSE(r.quant.weight.is_signed);
    EXPECT_FALSE(r.quant.activation.is_signed);
    EXPECT_TRUE(r.quant.grad_output.is_signed);
    EXPECT_EQ(r.quant.activation.granularity, Granularity::kPerPosition);
    EXPECT_EQ(r.quant.arithmetic, QuantArithmetic::kInput);
    EXPECT_STREQ(to_string(QuantArithmetic::kFp32), "fp32");
    EXPECT_EQ(Recipe{}.quant.arithmetic, QuantArithmetic::kFp32);
    EXPECT_TRUE(Recipe{}.quant.weight.is_signed);
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "r"), r);
    const std::string defaults = default_recipe_yaml();
    EXPECT_THAT(defaults, HasSubstr("signed: true"));
    EXPECT_THAT(defaults, HasSubstr("arithmetic: fp32"));
    EXPECT_THAT(defaults, HasSubstr("fused_qkv: false"));
    EXPECT_THAT(defaults, HasSubstr("fused_gate_up: false"));
    EXPECT_THAT(defaults, HasSubstr("per_position"));

    expect_error("quant:\n  weight: {signed: false, grid: full}\n",
                 2,
                 20,
                 "quant.weight.signed",
                 "needs grid: reference");
    expect_error("quant:\n  optim_v: {bits: 8, signed: false}\n",
                 2,
                 30,
                 "quant.optim_v.signed",
                 "not available for stored optimizer states");
    expect_error("quant:\n  weight: {signed: maybe}\n", 2, 20, "quant.weight.signed", "maybe");
    expect_error("quant:\n  weight: {granularity: per_position}\n",
                 2,
                 25,
                 "quant.weight.granularity",
                 "per_position is for activations and gradients");
    expect_error("quant:\n  arithmetic: bf16\n", 2, 15, "quant.arithmetic", "fp32");
    expect_error("quant:\n  activation: {bits: 8, rounding: stochastic}\n  arithmetic: input\n",
                 2,
                 35,
                 "quant.activation.rounding",
                 "stochastic rounding runs in the float32 kernels");
}

TEST(RecipeQuant, FusedLlamaProjections) {
    const Recipe r = parse_recipe_yaml(
        "model: {family: llama, fused_qkv: true, fused_gate_up: true}\n"
        "quant: {scope: [qkv, o, gate_up, down], split_qkv_grad: true}\n",
        "r");
    EXPECT_TRUE(r.model.fused_qkv);
    EXPECT_TRUE(r.model.fused_gate_up);
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "r"), r);
    EXPECT_EQ(quant_roles(r.model),
              (std::vector<std::string>{"qkv", "o", "gate_up", "down", "lm_head"}));
    expect_error("model: {family: llama, fused_qkv: true}\nquant:\n  scope: [q]\n",
                 3,
                 10,
                 "quant.scope",
                 "expected some of: qkv, o, gate, up, down, lm_head");
    expect_error("model: {fused_qkv: true}\n", 1, 20, "model.fused_qkv", "applies to Llama only");
    // A per-group G quantizer of the fused gate|up must divide its 2*d_ff outputs; with the
    // split q/k/v gradient the groups of qkv must divide one block (d_model).
    expect_error(
        "model: {family: llama, d_model: 64, heads: 4, fused_qkv: true}\n"
        "quant:\n  grad_output: {bits: 8, granularity: per_group, group_size: 48}\n"
        "  split_qkv_grad: true\n",
        3,
        62,
        "quant.grad_output.group_size",
        "one q/k/v block of qkv");
}

TEST(RecipeQuant, RoundTrips) {
    const Recipe r = parse_recipe_yaml(R"(quant:
  weight: {bits: 8, symmetric: false, min_range: 2.5e-6}
  grad_output: {bits: 4, granularity: per_group, group_size: 64}
  scope: [fc1, lm_head]
  backward: both
  overrides:
    - {layers: "blocks.0.*", weight: {bits: 8}, optim_v: {bits: 8}}
)",
                                       "r");
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "r"), r);
    EXPECT_EQ(parse_recipe_yaml(default_recipe_yaml(), "defaults"), Recipe{});
    EXPECT_THAT(default_recipe_yaml(), HasSubstr("quant:\n"));
    // Stored recipes from before quant: load with it off; partial override entries keep defaults.
    nlohmann::json j = recipe_to_json(Recipe{});
    j.erase("quant");
    EXPECT_EQ(recipe_from_json(j), Recipe{});
    j["quant"] = {{"overrides", {{{"layers", "lm_head"}, {"weight", {{"bits", 8}}}}}}};
    const Recipe from_json = recipe_from_json(j);
    EXPECT_EQ(from_json.quant.overrides.at(0).weight->min_range, 1e-5);
    j["quant"] = {{"weight", {{"bits", 9}}}};
    EXPECT_THROW(recipe_from_json(j), RecipeError);
}

}  // namespace
}  // namespace lowbit::config::testing
