// lowbit_config JSON: every field written (enums as names), exact round trips including awkward
// doubles, strict reading (unknown keys, wrong types, ranges), and the schema table's invariants.
#include "lowbit/config/recipe_json.h"

#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::config::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

Recipe unusual_recipe() {
    Recipe r;
    r.name = "ünïcode \"quoted\"";
    r.seed = UINT64_MAX;
    r.model.family = ModelFamily::kLlama;
    r.model.heads = 2;
    r.model.dropout = 0.1 + 0.2;
    r.model.norm_eps = 4.9e-324;  // smallest subnormal
    r.model.init_std = 1.0 / 3.0;
    r.data.train = {"a.txt", "b.txt"};
    r.data.val = {"v.txt"};
    r.data.tokenizer = TokenizerKind::kSentencePiece;
    r.data.tokenizer_model = "t.model";
    r.data.markov.seed = 0;
    r.train.steps = INT64_MAX;
    r.train.lr = 12345678.987654321;
    r.train.min_lr = std::nextafter(0.0, 1.0);
    r.train.betas = {0.0, std::nextafter(1.0, 0.0)};
    r.train.schedule = Schedule::kConstant;
    r.train.device = DeviceChoice::kCpu;
    return r;
}

std::string recipe_json_error(const json& j) {
    try {
        recipe_from_json(j);
    } catch (const RecipeError& e) {
        EXPECT_EQ(e.file(), "recipe JSON");
        return e.what();
    }
    ADD_FAILURE() << "no error for " << j.dump();
    return "";
}

TEST(RecipeJson, WritesEveryFieldWithEnumNames) {
    const json j = recipe_to_json(Recipe{});
    const json flat = j.flatten();
    const std::size_t leaves = flat.size();
    // Lists flatten to one entry per element: train (1) and betas (2); val is empty ([] is a leaf).
    EXPECT_EQ(leaves, recipe_fields().size() + 1);
    EXPECT_EQ(j["model"]["family"], "gpt2");
    EXPECT_EQ(j["train"]["schedule"], "cosine");
    EXPECT_EQ(j["data"]["train"], json::array({"builtin:markov"}));
    EXPECT_EQ(j["data"]["val"], json::array());
    EXPECT_EQ(j["data"]["markov"]["tokens"], 2000000);
    EXPECT_EQ(j["train"]["betas"], json::array({0.9, 0.99}));
    EXPECT_EQ(j["seed"], 1337);
    EXPECT_EQ(j["model"]["tie_embeddings"], true);
}

TEST(RecipeJson, RoundTripIsExact) {
    for (const Recipe& r : {Recipe{}, unusual_recipe()}) {
        EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
        // Through text, as stored in the database.
        EXPECT_EQ(recipe_from_json(json::parse(recipe_to_json(r).dump())), r);
        EXPECT_EQ(recipe_to_json(recipe_from_json(recipe_to_json(r))), recipe_to_json(r));
        EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "y"), r);
    }
}

TEST(RecipeJson, MissingKeysKeepDefaults) {
    EXPECT_EQ(recipe_from_json(json::object()), Recipe{});
    const Recipe r = recipe_from_json(json::parse(R"({"train": {"lr": 0.5}, "model": {}})"));
    Recipe expected;
    expected.train.lr = 0.5;
    EXPECT_EQ(r, expected);
}

TEST(RecipeJson, ReadingIsStrict) {
    EXPECT_THAT(
        recipe_json_error(json::parse(R"({"train": {"lr_min": 0.1}})")),
        HasSubstr(
            "recipe JSON: train.lr_min: unknown key 'train.lr_min'; did you mean 'train.min_lr'?"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"model": {"layers": "4"}})")),
                HasSubstr("model.layers: expected an integer, got the string \"4\""));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"model": {"layers": 4.5}})")),
                HasSubstr("expected an integer, got 4.5"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"model": {"family": "gpt3"}})")),
                HasSubstr("unknown value 'gpt3' (expected one of: gpt2, llama)"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"train": {"steps": 0}})")),
                HasSubstr("train.steps: 0 is out of range"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"seed": -3})")),
                HasSubstr("seed: -3 is out of range"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"train": 3})")),
                HasSubstr("train: expected an object"));
    EXPECT_THAT(recipe_json_error(json::parse(R"([1])")), HasSubstr("expected an object"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"data": {"train": "a.txt"}})")),
                HasSubstr("data.train: expected an array of strings"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"model": {"heads": 3}})")),
                HasSubstr("not divisible"));
    EXPECT_THAT(recipe_json_error(json::parse(R"({"model": {"layers": 99999999999}})")),
                HasSubstr("model.layers"));
}

TEST(RecipeJson, StoredRunsWithWarmupAboveStepsStillLoad) {
    // A YAML recipe may leave warmup_steps at its default (100) with `steps: 20`; its stored JSON
    // holds both keys and must still resume.
    const Recipe r = parse_recipe_yaml("train: {steps: 20}", "r");
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
}

TEST(RecipeSchema, TableIsConsistent) {
    const Recipe defaults;
    for (const FieldSpec& field : recipe_fields()) {
        EXPECT_FALSE(field.doc.empty()) << field.path;
        EXPECT_EQ(find_field(field.path), &field);
        EXPECT_EQ(check_field_value(field, field.get(defaults)), std::nullopt) << field.path;
        const std::string parent = field.path.substr(
            0, field.path.rfind('.') == std::string::npos ? 0 : field.path.rfind('.'));
        EXPECT_TRUE(parent.empty() || find_section(parent) != nullptr) << field.path;
    }
    EXPECT_TRUE(check_recipe_consistency(defaults).empty());
    EXPECT_EQ(find_field("train.nope"), nullptr);
    EXPECT_EQ(describe_expected(*find_field("train.steps")), "an integer >= 1");
    EXPECT_EQ(describe_expected(*find_field("model.dropout")), "a number in [0, 1)");
    EXPECT_EQ(describe_expected(*find_field("train.schedule")), "one of: cosine, linear, constant");
    EXPECT_EQ(describe_expected(*find_field("train.betas")), "a list of 2 numbers, each in [0, 1)");
    EXPECT_EQ(format_double(1e-8), "1.0e-08");
    EXPECT_EQ(format_double(10000.0), "10000.0");
    EXPECT_EQ(format_double(0.1), "0.1");
}

}  // namespace
}  // namespace lowbit::config::testing
