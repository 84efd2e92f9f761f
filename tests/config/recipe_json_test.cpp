// lowbit_config JSON: every field written (enums as names), exact round trips including awkward
// doubles and every schema key at a non-default value (checked against hand-written JSON and the
// YAML-read recipe, field by field), strict reading (unknown keys, wrong types, ranges), and the
// schema table's invariants.
#include "lowbit/config/recipe_json.h"

#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

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

// One key at a value that is not its default: as YAML (a `--set` value) and as the JSON that
// recipe_to_json must write for it, both written by hand.
struct NonDefault {
    std::string path;
    std::string yaml;
    std::string json;
};

// Every key except model.family, on a GPT-2 (split_qkv_grad applies to GPT-2 only). The values
// respect the cross-key rules: group size 32 divides every quantized width (64, 192, 512) and the
// per-group granularity is valid for every tensor type.
std::vector<NonDefault> gpt2_settings() {
    std::vector<NonDefault> s = {
        {"name", "every key", R"("every key")"},
        {"seed", "42", "42"},
        {"model.layers", "2", "2"},
        {"model.heads", "2", "2"},
        {"model.d_model", "64", "64"},
        {"model.d_ff", "192", "192"},
        {"model.context", "32", "32"},
        {"model.dropout", "0.125", "0.125"},
        {"model.tie_embeddings", "false", "false"},
        {"model.vocab_size", "512", "512"},
        {"model.norm_eps", "1.0e-6", "1e-6"},
        {"model.rope_theta", "500000.0", "500000"},
        {"model.init_std", "0.01", "0.01"},
        {"data.train", "[a.txt, b.txt]", R"(["a.txt", "b.txt"])"},
        {"data.val", "v.txt", R"(["v.txt"])"},
        {"data.format", "jsonl", R"("jsonl")"},
        {"data.tokenizer", "sentencepiece", R"("sentencepiece")"},
        {"data.sentencepiece_type", "unigram", R"("unigram")"},
        {"data.tokenizer_model", "tok.model", R"("tok.model")"},
        {"data.vocab_size", "8000", "8000"},
        {"data.val_fraction", "0.05", "0.05"},
        {"data.markov.words", "100", "100"},
        {"data.markov.successors", "10", "10"},
        {"data.markov.concentration", "0.5", "0.5"},
        {"data.markov.tokens", "1_000_000", "1000000"},
        {"data.markov.seed", "9", "9"},
        {"train.steps", "5000", "5000"},
        {"train.batch_size", "32", "32"},
        {"train.grad_accum", "4", "4"},
        {"train.rows_per_pass", "3", "3"},
        {"train.lr", "6.0e-4", "6e-4"},
        {"train.min_lr", "6.0e-5", "6e-5"},
        {"train.warmup_steps", "200", "200"},
        {"train.schedule", "linear", R"("linear")"},
        {"train.weight_decay", "0.05", "0.05"},
        {"train.betas", "[0.8, 0.95]", "[0.8, 0.95]"},
        {"train.eps", "1.0e-10", "1e-10"},
        {"train.grad_clip", "0.5", "0.5"},
        {"train.precision", "bf16", R"("bf16")"},
        {"train.eval_every", "100", "100"},
        {"train.eval_batches", "5", "5"},
        {"train.checkpoint_every", "1000", "1000"},
        {"train.log_every", "10", "10"},
        {"train.device", "cuda", R"("cuda")"},
        {"train.threads", "8", "8"},
        {"quant.scope", "[qkv, fc1, lm_head]", R"(["qkv", "fc1", "lm_head"])"},
        {"quant.backward", "switchback", R"("switchback")"},
        {"quant.split_qkv_grad", "true", "true"},
        {"quant.optim_v_mapping", "sqrt", R"("sqrt")"},
        {"quant.overrides",
         R"([{layers: "blocks.0.*", weight: {bits: 4, granularity: per_tensor}}])",
         R"([{"layers": "blocks.0.*", "weight": {"bits": 4, "granularity": "per_tensor"}}])"},
        {"telemetry.every", "50", "50"},
        {"telemetry.steps", "[3, 7]", "[3, 7]"},
        {"telemetry.bins", "32", "32"},
        {"telemetry.kinds", "[weight, grad_output]", R"(["weight", "grad_output"])"},
        {"qat.source", "llama-8m", R"("llama-8m")"},
        {"qat.method", "gptq", R"("gptq")"},
        {"qat.bits", "2", "2"},
        {"qat.group_size", "64", "64"},
        {"qat.eval", "[/data/test.txt]", R"(["/data/test.txt"])"},
        {"qat.block_ap.calibration", "[/data/train.txt]", R"(["/data/train.txt"])"},
        {"qat.block_ap.samples", "512", "512"},
        {"qat.block_ap.val_samples", "32", "32"},
        {"qat.block_ap.seq_len", "256", "256"},
        {"qat.block_ap.epochs", "3", "3"},
        {"qat.block_ap.batch", "4", "4"},
        {"qat.block_ap.quant_lr", "3.0e-4", "3e-4"},
        {"qat.block_ap.weight_lr", "2.0e-5", "2e-5"},
        {"qat.block_ap.min_lr_factor", "10", "10.0"},
        {"qat.block_ap.weight_decay", "0.01", "0.01"},
        {"qat.block_ap.train_norms", "false", "false"},
        {"qat.block_ap.train_weights", "false", "false"},
        {"qat.block_ap.train_quant_params", "false", "false"},
        {"qat.block_ap.precision", "bf16", R"("bf16")"},
        {"qat.e2e_qp.corpus", "[/data/more.txt]", R"(["/data/more.txt"])"},
        {"qat.e2e_qp.samples", "1024", "1024"},
        {"qat.e2e_qp.seq_len", "255", "255"},
        {"qat.e2e_qp.global_batch", "16", "16"},
        {"qat.e2e_qp.micro_batch", "8", "8"},
        {"qat.e2e_qp.epochs", "2", "2"},
        {"qat.e2e_qp.lr", "2.0e-5", "2e-5"},
        {"qat.e2e_qp.warmup_ratio", "0.1", "0.1"},
        {"qat.e2e_qp.grad_clip", "1.0", "1.0"},
        {"qat.gptq.damp", "0.05", "0.05"},
        {"qat.gptq.act_order", "true", "true"},
        {"qat.gptq.block_size", "64", "64"},
    };
    // Each quantizer entry with its own bit-width and floor, so a mixed-up entry shows.
    const std::vector<std::tuple<std::string, std::string, std::string>> entries = {
        {"weight", "8", "1.0e-4"},
        {"activation", "7", "1.0e-3"},
        {"grad_output", "6", "1.0e-7"},
        {"optim_m", "5", "1.0e-6"},
        {"optim_v", "3", "1.0e-10"}};
    for (const auto& [tensor, bits, min_range] : entries) {
        const std::string p = "quant." + tensor + ".";
        s.push_back({p + "bits", bits, bits});
        s.push_back({p + "granularity", "per_group", R"("per_group")"});
        s.push_back({p + "group_size", "32", "32"});
        s.push_back({p + "symmetric", "false", "false"});
        s.push_back({p + "rounding", "stochastic", R"("stochastic")"});
        s.push_back({p + "min_range", min_range, min_range});
        s.push_back({p + "grid", "full", R"("full")"});
    }
    return s;
}

// The rest: the family (a Llama with otherwise default keys), its fused projections, and the
// keys the GPT-2 recipe's full-grid stochastic entries cannot move (unsigned codes need the
// reference grid, arithmetic input needs round to nearest; the states' unsigned choice is allowed
// only while they are off).
std::vector<NonDefault> llama_settings() {
    std::vector<NonDefault> s = {{"model.family", "llama", R"("llama")"},
                                 {"model.fused_qkv", "true", "true"},
                                 {"model.fused_gate_up", "true", "true"},
                                 {"quant.arithmetic", "input", R"("input")"},
                                 {"quant.weight.bits", "8", "8"},
                                 {"quant.activation.bits", "8", "8"}};
    for (const char* tensor : {"weight", "activation", "grad_output", "optim_m", "optim_v"}) {
        s.push_back({std::string("quant.") + tensor + ".signed", "false", "false"});
    }
    return s;
}

// The int8 forward GEMM, which needs symmetric signed W and A (the GPT-2 recipe's are not).
std::vector<NonDefault> int8_settings() {
    return {{"quant.forward_gemm", "int8", R"("int8")"},
            {"distributed.gradient_allreduce", "int8", R"("int8")"},
            {"distributed.error_feedback", "true", "true"},
            {"distributed.shard_optimizer_states", "true", "true"},
            {"quant.weight.bits", "8", "8"},
            {"quant.activation.bits", "8", "8"}};
}

// `expected` is contained in `actual`: equal scalars and arrays element by element; objects may
// hold more keys (an override entry writes every key of its quantizers).
bool json_contains(const json& actual, const json& expected) {
    if (expected.is_object()) {
        if (!actual.is_object()) {
            return false;
        }
        for (const auto& [key, value] : expected.items()) {
            if (!actual.contains(key) || !json_contains(actual.at(key), value)) {
                return false;
            }
        }
        return true;
    }
    if (expected.is_array()) {
        if (!actual.is_array() || actual.size() != expected.size()) {
            return false;
        }
        for (std::size_t i = 0; i < expected.size(); ++i) {
            if (!json_contains(actual.at(i), expected.at(i))) {
                return false;
            }
        }
        return true;
    }
    return actual == expected;
}

json::json_pointer pointer_of(const std::string& path) {
    std::string text = "/" + path;
    std::replace(text.begin(), text.end(), '.', '/');
    return json::json_pointer(text);
}

// Reads the settings as YAML, writes JSON, checks the JSON holds the hand-written values, and
// reads it back (as a value and as text): every schema field equal to the YAML-read recipe's.
Recipe check_json_round_trip(const std::vector<NonDefault>& settings) {
    std::vector<std::string> sets;
    for (const NonDefault& s : settings) {
        sets.push_back(s.path + "=" + s.yaml);
    }
    const Recipe from_yaml = parse_recipe_yaml("", "every key", sets);
    const json j = recipe_to_json(from_yaml);
    for (const NonDefault& s : settings) {
        const json expected = json::parse(s.json);
        if (!j.contains(pointer_of(s.path))) {
            ADD_FAILURE() << s.path << " is not in the JSON";
            continue;
        }
        EXPECT_TRUE(json_contains(j.at(pointer_of(s.path)), expected))
            << s.path << ": JSON " << j.at(pointer_of(s.path)).dump() << ", YAML " << s.yaml;
    }
    // Every leaf of the JSON belongs to a schema field (nothing written twice or invented).
    const json flat = j.flatten();
    for (const auto& [leaf, value] : flat.items()) {
        std::string path = leaf.substr(1);
        std::replace(path.begin(), path.end(), '/', '.');
        const bool known = std::any_of(
            recipe_fields().begin(), recipe_fields().end(), [&](const FieldSpec& field) {
                return path == field.path || path.starts_with(field.path + ".");
            });
        EXPECT_TRUE(known) << leaf;
    }
    const Recipe from_json = recipe_from_json(j);
    const Recipe from_text = recipe_from_json(json::parse(j.dump()));
    const Recipe from_shown_yaml = parse_recipe_yaml(recipe_to_yaml(from_json), "shown");
    for (const FieldSpec& field : recipe_fields()) {
        EXPECT_TRUE(field.get(from_json) == field.get(from_yaml)) << field.path;
        EXPECT_TRUE(field.get(from_text) == field.get(from_yaml)) << field.path << " (text)";
        EXPECT_TRUE(field.get(from_shown_yaml) == field.get(from_yaml)) << field.path << " (YAML)";
    }
    EXPECT_EQ(from_json, from_yaml);
    return from_yaml;
}

TEST(RecipeJson, EveryKeyAtANonDefaultValueRoundTrips) {
    const Recipe gpt2 = check_json_round_trip(gpt2_settings());
    const Recipe llama = check_json_round_trip(llama_settings());
    const Recipe int8 = check_json_round_trip(int8_settings());
    // Together the recipes move every key of the schema (a new key needs a row above).
    const Recipe defaults;
    std::set<std::string> listed;
    for (const auto& list : {gpt2_settings(), llama_settings(), int8_settings()}) {
        for (const NonDefault& s : list) {
            listed.insert(s.path);
        }
    }
    for (const FieldSpec& field : recipe_fields()) {
        EXPECT_TRUE(listed.contains(field.path)) << field.path << " has no non-default value here";
        EXPECT_TRUE(field.get(gpt2) != field.get(defaults) ||
                    field.get(llama) != field.get(defaults) ||
                    field.get(int8) != field.get(defaults))
            << field.path << " is at its default in every recipe";
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
