// The telemetry: section (defaults, integer lists in YAML/JSON/--set, every validation error with
// its location, round trips) and the standalone quantizer spec of `lowbit quant`.
#include "lowbit/config/quantizer_yaml.h"
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {

using ::testing::HasSubstr;

TEST(RecipeTelemetry, Defaults) {
    const TelemetrySpec t;
    EXPECT_EQ(t.every, 100);
    EXPECT_TRUE(t.steps.empty());
    EXPECT_EQ(t.bins, 64);
    EXPECT_TRUE(t.kinds.empty());  // all five kinds
    EXPECT_EQ(parse_recipe_yaml("name: x\n", "r").telemetry, TelemetrySpec{});
    EXPECT_EQ(describe_expected(*find_field("telemetry.steps")),
              "an integer or a list of integers, each >= 1");
}

TEST(RecipeTelemetry, ReadsEveryKey) {
    const Recipe r = parse_recipe_yaml(R"(train: {steps: 500}
telemetry:
  every: 10
  steps: [1, 3, 250]
  bins: 128
  kinds: [weight, grad_output]
)",
                                       "r");
    EXPECT_EQ(r.telemetry.every, 10);
    EXPECT_EQ(r.telemetry.steps, (std::vector<int64_t>{1, 3, 250}));
    EXPECT_EQ(r.telemetry.bins, 128);
    EXPECT_EQ(r.telemetry.kinds, (std::vector<std::string>{"weight", "grad_output"}));
    // One integer is a one-element list; null is the empty list; every: 0 turns periodic logging
    // off.
    EXPECT_EQ(parse_recipe_yaml("telemetry: {steps: 7}", "r").telemetry.steps,
              (std::vector<int64_t>{7}));
    EXPECT_TRUE(parse_recipe_yaml("telemetry: {steps: }", "r").telemetry.steps.empty());
    EXPECT_EQ(parse_recipe_yaml("telemetry: {every: 0}", "r").telemetry.every, 0);
    // --set
    const Recipe s =
        parse_recipe_yaml("name: x", "r", {"telemetry.steps=[5, 6]", "telemetry.kinds=activation"});
    EXPECT_EQ(s.telemetry.steps, (std::vector<int64_t>{5, 6}));
    EXPECT_EQ(s.telemetry.kinds, (std::vector<std::string>{"activation"}));
}

TEST(RecipeTelemetry, RoundTripsThroughJsonAndYaml) {
    Recipe r;
    r.train.steps = 1000;
    r.telemetry.every = 0;
    r.telemetry.steps = {1, 999, 1000};
    r.telemetry.bins = 1;
    r.telemetry.kinds = {"optim_v", "weight"};
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
    EXPECT_EQ(recipe_to_json(r)["telemetry"]["steps"], nlohmann::json::array({1, 999, 1000}));
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "y"), r);
    EXPECT_EQ(parse_recipe_yaml(default_recipe_yaml(), "d"), Recipe{});
    EXPECT_NE(default_recipe_yaml().find("telemetry:\n"), std::string::npos);
}

TEST(RecipeTelemetry, BadValuesNameTheKeyAndPlace) {
    const RecipeError every = parse_error("telemetry:\n  every: -1\n");
    EXPECT_EQ(every.line(), 2);
    EXPECT_EQ(every.column(), 10);
    EXPECT_EQ(every.key_path(), "telemetry.every");
    EXPECT_THAT(every.what(), HasSubstr("-1 is out of range (expected an integer >= 0)"));

    const RecipeError step = parse_error("telemetry:\n  steps: [4, 0]\n");
    EXPECT_EQ(step.key_path(), "telemetry.steps");
    EXPECT_THAT(step.what(), HasSubstr("element 1 (0) is out of range"));

    const RecipeError not_int = parse_error("telemetry:\n  steps: [4, 2.5]\n");
    EXPECT_EQ(not_int.key_path(), "telemetry.steps[1]");
    EXPECT_EQ(not_int.line(), 2);
    EXPECT_EQ(not_int.column(), 14);
    EXPECT_THAT(not_int.what(), HasSubstr("expected an integer, got '2.5'"));

    const RecipeError bins = parse_error("telemetry: {bins: 0}");
    EXPECT_THAT(bins.what(), HasSubstr("telemetry.bins: 0 is out of range"));

    const RecipeError kind = parse_error("telemetry:\n  kinds: [weight, activations]\n");
    EXPECT_EQ(kind.line(), 2);
    EXPECT_EQ(kind.key_path(), "telemetry.kinds");
    EXPECT_THAT(kind.what(),
                HasSubstr("'activations' is not a tensor kind; did you mean 'activation'?"));

    EXPECT_THAT(parse_error("telemetry: {kinds: [weight, weight]}").what(),
                HasSubstr("'weight' is listed twice"));

    const RecipeError late = parse_error("train: {steps: 50}\ntelemetry: {steps: [10, 60]}\n");
    EXPECT_EQ(late.key_path(), "telemetry.steps");
    EXPECT_THAT(late.what(), HasSubstr("60 is after the last step, train.steps (50)"));

    EXPECT_THAT(parse_error("telemetry: {evry: 5}").what(),
                HasSubstr("did you mean 'telemetry.every'?"));
}

TEST(RecipeTelemetry, JsonRejectsNonIntegerSteps) {
    try {
        recipe_from_json(nlohmann::json::parse(R"({"telemetry": {"steps": [1, "2"]}})"));
        ADD_FAILURE() << "no error";
    } catch (const RecipeError& e) {
        EXPECT_THAT(e.what(), HasSubstr("telemetry.steps[1]: expected an integer"));
    }
}

TEST(QuantizerYaml, ReadsAnEntryWithWeightDefaults) {
    const QuantizerSpec q = parse_quantizer_yaml(
        "bits: 4\ngranularity: per_group\ngroup_size: 64\nsymmetric: false\ngrid: full\n", "s");
    EXPECT_EQ(q.bits, 4);
    EXPECT_EQ(q.granularity, Granularity::kPerGroup);
    EXPECT_EQ(q.group_size, 64);
    EXPECT_FALSE(q.symmetric);
    EXPECT_EQ(q.grid, QuantGrid::kFull);
    EXPECT_EQ(q.rounding, Rounding::kNearest);
    EXPECT_EQ(q.min_range, 1e-5);
    // Flow style, and a per_token entry (no per-tensor-type rule for a standalone spec).
    EXPECT_EQ(parse_quantizer_yaml("{bits: 8, granularity: per_token}", "s").granularity,
              Granularity::kPerToken);
}

TEST(QuantizerYaml, ErrorsNameFileLineColumnAndKey) {
    auto error_of = [](const std::string& text) {
        try {
            parse_quantizer_yaml(text, "spec.yaml");
        } catch (const RecipeError& e) {
            return e;
        }
        ADD_FAILURE() << "no error for " << text;
        return RecipeError("", 0, 0, "", "");
    };
    const RecipeError unknown = error_of("bits: 8\nrounnding: nearest\n");
    EXPECT_EQ(unknown.file(), "spec.yaml");
    EXPECT_EQ(unknown.line(), 2);
    EXPECT_EQ(unknown.column(), 1);
    EXPECT_EQ(unknown.key_path(), "rounnding");
    EXPECT_THAT(unknown.what(),
                HasSubstr("spec.yaml:2:1: rounnding: unknown key 'rounnding'; "
                          "did you mean 'rounding'?"));
    const RecipeError bits = error_of("bits: 9\n");
    EXPECT_EQ(bits.line(), 1);
    EXPECT_EQ(bits.column(), 7);
    EXPECT_THAT(bits.what(), HasSubstr("9 is not a supported bit-width"));
    EXPECT_THAT(error_of("granularity: per_row\n").what(), HasSubstr("unknown value 'per_row'"));
    EXPECT_THAT(error_of("[1, 2]").what(), HasSubstr("expected a map of quantizer keys"));
    EXPECT_THAT(error_of("bits: [8\n").what(), HasSubstr("spec.yaml:"));
    EXPECT_THAT(error_of("bits: 8\nbits: 4\n").what(), HasSubstr("duplicate key"));
}

TEST(QuantizerYaml, MissingFileIsAnError) {
    ScratchDir dir;
    try {
        load_quantizer_file(dir.path() / "nope.yaml");
        ADD_FAILURE() << "no error";
    } catch (const RecipeError& e) {
        EXPECT_THAT(e.what(), HasSubstr("nope.yaml: quantizer spec file not found"));
    }
    EXPECT_EQ(load_quantizer_file(dir.write("q.yaml", "bits: 2\n")).bits, 2);
}

}  // namespace
}  // namespace lowbit::config::testing
