// The sweep grid: axis parsing (bracketed list values), cartesian order, and errors.
#include "lowbit/config/sweep_grid.h"

#include "lowbit/config/recipe_yaml.h"

#include <gtest/gtest.h>

namespace lowbit::config {
namespace {

TEST(SweepGridTest, ParsesValuesAndKeepsCommasInsideBrackets) {
    const SweepAxis bits = parse_sweep_axis("quant.weight.bits=8, 4");
    EXPECT_EQ(bits.key, "quant.weight.bits");
    EXPECT_EQ(bits.values, (std::vector<std::string>{"8", "4"}));
    const SweepAxis betas = parse_sweep_axis("train.betas=[0.9,0.95],[0.9,0.99]");
    EXPECT_EQ(betas.values, (std::vector<std::string>{"[0.9,0.95]", "[0.9,0.99]"}));
}

TEST(SweepGridTest, CartesianProductWithFirstAxisSlowest) {
    const auto points =
        expand_sweep({parse_sweep_axis("quant.weight.bits=8,4"), parse_sweep_axis("seed=1,2,3")});
    ASSERT_EQ(points.size(), 6u);
    EXPECT_EQ(points[0].label(), "quant.weight.bits=8 seed=1");
    EXPECT_EQ(points[2].label(), "quant.weight.bits=8 seed=3");
    EXPECT_EQ(points[3].overrides(), (std::vector<std::string>{"quant.weight.bits=4", "seed=1"}));
    EXPECT_EQ(points[5].label(), "quant.weight.bits=4 seed=3");
}

TEST(SweepGridTest, NoAxesIsOnePlainRun) {
    const auto points = expand_sweep({});
    ASSERT_EQ(points.size(), 1u);
    EXPECT_TRUE(points[0].assignments.empty());
}

TEST(SweepGridTest, RejectsMalformedAxes) {
    EXPECT_THROW(parse_sweep_axis("seed"), RecipeError);
    EXPECT_THROW(parse_sweep_axis("=1,2"), RecipeError);
    EXPECT_THROW(parse_sweep_axis("seed=1,,2"), RecipeError);
    EXPECT_THROW(expand_sweep({parse_sweep_axis("seed=1"), parse_sweep_axis("seed=2")}),
                 RecipeError);
    try {
        parse_sweep_axis("seed=1,");
        FAIL() << "an empty value must be refused";
    } catch (const RecipeError& e) {
        EXPECT_NE(std::string(e.what()).find("empty value"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace lowbit::config
