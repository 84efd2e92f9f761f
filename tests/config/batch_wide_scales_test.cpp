// batch_wide_scales against hand-worked recipes: per_token and per_group A/G scales belong to one
// row (none listed); per_tensor and per_position ones span the batch's rows (listed, with the
// override's layers); a quantizer that is off and the weight's per_tensor scale (W is not cut
// by rows between ranks) are not listed.
#include "lowbit/config/batch_wide_scales.h"

#include "lowbit/config/recipe_yaml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lowbit::config {
namespace {

std::vector<std::string> listed(const std::string& quant_section) {
    return batch_wide_scales(parse_recipe_yaml("name: x\nquant:\n" + quant_section, "r").quant);
}

TEST(BatchWideScales, RowLocalScalesAreNotListed) {
    EXPECT_TRUE(batch_wide_scales(QuantSpec{}).empty());
    EXPECT_TRUE(listed("  weight: {bits: 8, granularity: per_tensor}\n"
                       "  activation: {bits: 8, granularity: per_token}\n"
                       "  grad_output: {bits: 8, granularity: per_group, group_size: 32}\n")
                    .empty());
    // Off (32 bits): nothing is quantized, whatever the granularity says.
    EXPECT_TRUE(listed("  activation: {bits: 32, granularity: per_tensor}\n").empty());
}

TEST(BatchWideScales, PerTensorAndPerPositionAreListedWithTheirLayers) {
    const std::vector<std::string> expected{"activation per_tensor",
                                            "grad_output per_position",
                                            "grad_output per_tensor (layers blocks.0.*)"};
    EXPECT_EQ(listed("  activation: {bits: 8, granularity: per_tensor}\n"
                     "  grad_output: {bits: 8, granularity: per_position}\n"
                     "  overrides:\n"
                     "    - layers: \"blocks.0.*\"\n"
                     "      grad_output: {bits: 4, granularity: per_tensor}\n"
                     "    - {layers: lm_head, activation: {bits: 8, granularity: per_token}}\n"),
              expected);
}

}  // namespace
}  // namespace lowbit::config
