// Every shipped quantized-pretraining preset loads and validates, and its quant section is what
// its file name says (e.g. "w8-per-channel" = weights 8-bit per channel, nothing else quantized).
#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_yaml.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace lowbit::config {
namespace {

namespace fs = std::filesystem;

const fs::path kPresetRoot = fs::path(LOWBIT_SOURCE_DIR) / "resources/presets/pretrain";

// Expected (bits, granularity) per tensor type, decoded from the file name alone.
std::map<std::string, std::pair<int, std::string>> expected_from_name(const std::string& stem) {
    std::map<std::string, std::pair<int, std::string>> expected;
    if (stem == "w8a8" || stem == "w8a8g8") {
        expected["weight"] = {8, "per_channel"};
        expected["activation"] = {8, "per_token"};
        if (stem == "w8a8g8") {
            expected["grad_output"] = {8, "per_token"};
        }
        return expected;
    }
    static const std::regex single("([wagmv])([0-9])-(per-[a-z]+)");
    std::smatch match;
    if (std::regex_match(stem, match, single)) {
        static const std::map<std::string, std::string> kinds{{"w", "weight"},
                                                              {"a", "activation"},
                                                              {"g", "grad_output"},
                                                              {"m", "optim_m"},
                                                              {"v", "optim_v"}};
        std::string granularity = match[3];
        granularity[3] = '_';
        expected[kinds.at(match[1])] = {std::stoi(match[2]), granularity};
    }
    return expected;
}

TEST(PresetsTest, EveryPresetValidatesAndMatchesItsName) {
    ASSERT_TRUE(fs::is_directory(kPresetRoot)) << kPresetRoot;
    std::map<std::string, std::set<std::string>> stems_by_family;
    for (const auto& family_dir : fs::directory_iterator(kPresetRoot)) {
        if (!family_dir.is_directory()) {
            continue;
        }
        const std::string family = family_dir.path().filename().string();
        for (const auto& file : fs::directory_iterator(family_dir.path())) {
            const std::string stem = file.path().stem().string();
            SCOPED_TRACE(file.path().string());
            const Recipe recipe = load_recipe_file(file.path().string(), {});
            stems_by_family[family].insert(stem);
            EXPECT_EQ(recipe.name, family + "-" + stem);
            EXPECT_EQ(to_string(recipe.model.family), family);
            const auto expected = expected_from_name(stem);
            if (stem != "baseline") {
                EXPECT_FALSE(expected.empty()) << "file name not understood: " << stem;
            }
            const std::map<std::string, const QuantizerSpec*> specs{
                {"weight", &recipe.quant.weight},
                {"activation", &recipe.quant.activation},
                {"grad_output", &recipe.quant.grad_output},
                {"optim_m", &recipe.quant.optim_m},
                {"optim_v", &recipe.quant.optim_v}};
            for (const auto& [kind, spec] : specs) {
                const auto it = expected.find(kind);
                if (it == expected.end()) {
                    EXPECT_FALSE(spec->enabled()) << kind << " should be off";
                } else {
                    EXPECT_EQ(spec->bits, it->second.first) << kind;
                    EXPECT_EQ(to_string(spec->granularity), it->second.second) << kind;
                    EXPECT_TRUE(spec->symmetric) << kind;
                }
            }
        }
    }
    // The paper's grid for both families, the same configurations in each.
    ASSERT_EQ(stems_by_family.size(), 2u);
    EXPECT_EQ(stems_by_family["gpt2"], stems_by_family["llama"]);
    EXPECT_EQ(stems_by_family["gpt2"].size(), 19u);
}

// The EfficientQAT presets: the grid their name says (w<bits>g<group>), the method itself, Block-AP
// windows of the context they are sized for and E2E-QP windows one token shorter (a window holds
// its next tokens too), and the reference's doubled learning rates at 2 bits.
TEST(PresetsTest, EfficientQatPresetsAreTheGridTheirNameSays) {
    const fs::path root = fs::path(LOWBIT_SOURCE_DIR) / "resources/presets/efficientqat";
    std::set<std::string> stems;
    for (const auto& file : fs::directory_iterator(root)) {
        if (file.path().extension() != ".yaml") {
            continue;
        }
        const std::string stem = file.path().stem().string();
        SCOPED_TRACE(file.path().string());
        stems.insert(stem);
        const Recipe recipe = load_recipe_file(file.path().string(), {});
        std::smatch match;
        static const std::regex grid("w([0-9])g([0-9]+)");
        ASSERT_TRUE(std::regex_match(stem, match, grid)) << stem;
        EXPECT_EQ(recipe.name, "efficientqat-" + stem);
        EXPECT_EQ(recipe.qat.method, QatMethod::kEfficientQat);
        EXPECT_EQ(recipe.qat.bits, std::stoi(match[1]));
        EXPECT_EQ(recipe.qat.group_size, std::stoi(match[2]));
        EXPECT_TRUE(recipe.qat.source.empty()) << "the user picks the model";
        EXPECT_EQ(recipe.qat.e2e_qp.seq_len + 1, recipe.qat.block_ap.seq_len);
        EXPECT_FALSE(recipe.quant.enabled()) << "a qat preset trains nothing else";
    }
    EXPECT_EQ(stems, (std::set<std::string>{"w2g64", "w3g128", "w4g128"}));
    const Recipe w2 = load_recipe_file((root / "w2g64.yaml").string(), {});
    const Recipe w4 = load_recipe_file((root / "w4g128.yaml").string(), {});
    EXPECT_EQ(w2.qat.block_ap.weight_lr, 2 * w4.qat.block_ap.weight_lr);
    EXPECT_EQ(w2.qat.e2e_qp.lr, 2 * w4.qat.e2e_qp.lr);
}

}  // namespace
}  // namespace lowbit::config
