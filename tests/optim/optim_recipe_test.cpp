// The recipe side of the quantized optimizer: quant.optim_v_mapping parses, round-trips through
// YAML, rejects unknown values with file:line:col and key, and optim_m / optim_v entries become
// the stored-state formats QuantizedAdamW takes.
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/train/quantized_adamw.h"

#include <gtest/gtest.h>

#include <string>

namespace lowbit::train {
namespace {

TEST(OptimRecipe, SecondMomentMappingParsesAndRoundTrips) {
    const config::Recipe r = config::parse_recipe_yaml(
        "quant:\n  optim_m: {bits: 8, granularity: per_group, group_size: 128}\n"
        "  optim_v: {bits: 4, granularity: per_channel}\n  optim_v_mapping: sqrt\n",
        "optim.yaml");
    EXPECT_EQ(r.quant.optim_v_mapping, config::SecondMomentMapping::kSqrt);
    EXPECT_EQ(r.quant.optim_v_mapping, kernels::SecondMomentMapping::kSqrt);  // the same enum
    const auto m = state_quant_format(r.quant.optim_m);
    const auto v = state_quant_format(r.quant.optim_v);
    ASSERT_TRUE(m && v);
    EXPECT_EQ(m->granularity, kernels::Granularity::kPerBlock);
    EXPECT_EQ(m->block_size, 128);
    EXPECT_EQ(m->min_range, 1e-8f);  // the optimizer-state default r_min
    EXPECT_EQ(v->bits, 4);
    EXPECT_EQ(v->granularity, kernels::Granularity::kPerChannel);
    const config::Recipe back = config::parse_recipe_yaml(config::recipe_to_yaml(r), "back.yaml");
    EXPECT_EQ(back.quant.optim_v_mapping, config::SecondMomentMapping::kSqrt);
    EXPECT_EQ(config::Recipe{}.quant.optim_v_mapping, config::SecondMomentMapping::kLinear);
}

TEST(OptimRecipe, PerBlockStatesNeedNotDivideTheLayerWidth) {
    // Blocks of 256 over a 128-wide weight: each block covers two rows.
    const config::Recipe r = config::parse_recipe_yaml(
        "model: {d_model: 128}\nquant:\n  optim_m: {bits: 4, granularity: per_block, "
        "group_size: 256, symmetric: false}\n",
        "optim.yaml");
    const auto m = state_quant_format(r.quant.optim_m);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->granularity, kernels::Granularity::kPerBlock);
    EXPECT_EQ(m->block_size, 256);
    torch::manual_seed(2);
    const torch::Tensor w = torch::randn({6, 128});
    w.mutable_grad() = torch::randn({6, 128});
    QuantizedAdamW opt({{"w", w, m, std::nullopt}}, AdamWOptions{});
    opt.step(1e-3);
    // 768 values: 384 packed code bytes, 3 blocks with a scale and a zero point each, and the
    // float32 v.
    EXPECT_EQ(opt.state_bytes(), kernels::stored_state_bytes(768, 256, 4, false) + 768 * 4);
    EXPECT_EQ(kernels::stored_state_bytes(768, 256, 4, false), 384 + 3 * 8);
}

TEST(OptimRecipe, UnknownMappingNamesFileLineAndKey) {
    try {
        config::parse_recipe_yaml("quant:\n  optim_v_mapping: log\n", "bad.yaml");
        FAIL() << "expected a RecipeError";
    } catch (const config::RecipeError& e) {
        EXPECT_EQ(e.line(), 2) << e.what();
        EXPECT_EQ(e.key_path(), "quant.optim_v_mapping") << e.what();
        EXPECT_NE(std::string(e.what()).find("sqrt"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lowbit::train
