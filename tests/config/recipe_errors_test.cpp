// lowbit_config validation errors: each kind names the file, line:column, key path and what was
// expected (wrong type, range, enum, unknown key with suggestion, sections, duplicates, cross-key
// rules, YAML syntax, and --set overrides).
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {

using ::testing::HasSubstr;

TEST(RecipeErrors, WrongTypes) {
    expect_error(
        "name: x\ntrain:\n  lr: abc\n", 3, 7, "train.lr", {"expected a number > 0, got 'abc'"});
    expect_error(
        "model:\n  layers: 2.5\n", 2, 11, "model.layers", {"expected an integer, got '2.5'"});
    expect_error("model: {layers: \"4\"}", 1, 17, "model.layers", {"the quoted string '4'"});
    expect_error(
        "model: {tie_embeddings: maybe}", 1, 25, "model.tie_embeddings", {"true or false"});
    expect_error("train:\n  lr:\n", 2, 3, "train.lr", {"got nothing (null)"});
    expect_error("train: {betas: 0.9}", 1, 16, "train.betas", {"expected a list of 2 numbers"});
    expect_error(
        "train: {betas: [0.9, x]}", 1, 22, "train.betas[1]", {"expected a number, got 'x'"});
    expect_error("data: {train: {a: b}}", 1, 15, "data.train", {"a string or a non-empty list"});
    expect_error(
        "data: {train: [a, [b]]}", 1, 19, "data.train[1]", {"expected a string, got a list"});
    expect_error("seed: abc", 1, 7, "seed", {"expected a non-negative integer"});
    expect_error(
        "model: {family: [gpt2]}", 1, 17, "model.family", {"one of: gpt2, llama", "a list"});
}

TEST(RecipeErrors, OutOfRange) {
    expect_error("train:\n  steps: 0\n",
                 2,
                 10,
                 "train.steps",
                 {"0 is out of range (expected an integer >= 1)"});
    expect_error(
        "model: {layers: 99999999999}", 1, 17, "model.layers", {"out of range", "[1, 1024]"});
    expect_error("model: {heads: 0}", 1, 16, "model.heads", {"out of range"});
    expect_error("model: {context: 1}", 1, 18, "model.context", {"in [2, "});
    expect_error("model: {dropout: 1.0}", 1, 18, "model.dropout", {"a number in [0, 1)"});
    expect_error("data: {val_fraction: 0}", 1, 22, "data.val_fraction", {"in (0, 0.5]"});
    expect_error("data: {val_fraction: 0.6}", 1, 22, "data.val_fraction", {"in (0, 0.5]"});
    expect_error("train: {lr: 0}", 1, 13, "train.lr", {"a number > 0"});
    expect_error("train: {min_lr: -1e-5}", 1, 17, "train.min_lr", {">= 0"});
    expect_error("train: {eps: 0}", 1, 14, "train.eps", {"> 0"});
    expect_error("train: {grad_clip: -1}", 1, 20, "train.grad_clip", {">= 0"});
    expect_error("train: {batch_size: 0}", 1, 21, "train.batch_size", {">= 1"});
    expect_error("train: {grad_accum: 0}", 1, 21, "train.grad_accum", {">= 1"});
    // Column 24: the value after "train: {rows_per_pass: ".
    expect_error("train: {rows_per_pass: -2}", 1, 24, "train.rows_per_pass", {">= 0"});
    expect_error("train: {eval_every: 0}", 1, 21, "train.eval_every", {">= 1"});
    expect_error(
        "train: {betas: [0.9, 1.0]}", 1, 16, "train.betas", {"element 1 (1.0)", "in [0, 1)"});
    expect_error("train: {betas: [0.9, 0.95, 0.99]}", 1, 16, "train.betas", {"got 3 numbers"});
    expect_error("train: {lr: .inf}", 1, 13, "train.lr", {"not a finite number"});
    expect_error("seed: -1", 1, 7, "seed", {"-1 is out of range"});
    expect_error("name: ''", 1, 7, "name", {"a non-empty string"});
    expect_error("data: {train: []}", 1, 15, "data.train", {"empty list"});
}

TEST(RecipeErrors, UnknownEnumValuesListTheValidOnes) {
    expect_error("model:\n  family: gpt3\n",
                 2,
                 11,
                 "model.family",
                 {"unknown value 'gpt3' (expected one of: gpt2, llama)"});
    expect_error("train: {schedule: step}", 1, 19, "train.schedule", {"cosine, linear, constant"});
    expect_error("data: {tokenizer: bpe}", 1, 19, "data.tokenizer", {"byte, sentencepiece"});
}

TEST(RecipeErrors, UnknownKeysSuggestTheNearest) {
    expect_error("train:\n  lr_min: 0.1\n",
                 2,
                 3,
                 "train.lr_min",
                 {"unknown key 'train.lr_min'; did you mean 'train.min_lr'?"});
    expect_error("model:\n  layer: 2\n", 2, 3, "model.layer", {"did you mean 'model.layers'?"});
    expect_error("lr: 0.1\n", 1, 1, "lr", {"did you mean 'train.lr'?"});
    expect_error("trian: {}\n", 1, 1, "trian", {"did you mean 'train'?"});
    expect_error(
        "train: {warmup: 3}", 1, 9, "train.warmup", {"did you mean 'train.warmup_steps'?"});
    expect_error("data: {markov: {word: 3}}", 1, 17, "data.markov.word", {"'data.markov.words'"});
    expect_error("train:\n  zzzzzzzz: 1\n",
                 2,
                 3,
                 "train.zzzzzzzz",
                 {"(expected one of: steps, batch_size, grad_accum, rows_per_pass, lr, min_lr"});
}

TEST(RecipeErrors, SectionsMustBeMaps) {
    expect_error("train: 5\n", 1, 8, "train", {"expected a map of keys, got '5'"});
    expect_error("data:\n  markov: [1, 2]\n", 2, 11, "data.markov", {"got a list"});
    expect_error("- a\n- b\n", 1, 1, "", {"expected a map of sections"});
    expect_error("just text", 1, 1, "", {"expected a map of sections"});
}

TEST(RecipeErrors, DuplicateKeys) {
    expect_error("train:\n  lr: 0.1\n  lr: 0.2\n",
                 3,
                 3,
                 "train.lr",
                 {"duplicate key (first given on line 2)"});
}

TEST(RecipeErrors, CrossKeyRules) {
    expect_error("model:\n  heads: 4\n  d_model: 130\n",
                 3,
                 12,
                 "model.d_model",
                 {"130 is not divisible by model.heads (4)"});
    // Only heads given: located at heads, still about d_model.
    expect_error("model: {heads: 3}", 1, 16, "model.d_model", {"not divisible"});
    expect_error("model: {family: llama, heads: 4, d_model: 36}",
                 1,
                 43,
                 "model.d_model",
                 {"head dimension d_model/heads = 9 is odd", "RoPE"});
    expect_error("train: {lr: 0.001, min_lr: 0.01}", 1, 28, "train.min_lr", {"above train.lr"});
    expect_error("train: {steps: 10, warmup_steps: 11}",
                 1,
                 34,
                 "train.warmup_steps",
                 {"11 is more than train.steps (10)"});
    expect_error("data: {tokenizer: sentencepiece, vocab_size: 16}",
                 1,
                 46,
                 "data.vocab_size",
                 {"expected an integer >= 32"});
    expect_error("data: {tokenizer_model: t.model}",
                 1,
                 25,
                 "data.tokenizer_model",
                 {"expected data.tokenizer: sentencepiece"});
    expect_error("model: {vocab_size: 100}", 1, 21, "model.vocab_size", {"256"});
    expect_error("data: {markov: {words: 5, successors: 6}}",
                 1,
                 39,
                 "data.markov.successors",
                 {"6 is more than data.markov.words (5)"});
    expect_error("data: {train: builtin:text}", 1, 15, "data.train", {"unknown built-in corpus"});
    expect_error("data: {train: [builtin:markov, a.txt]}", 1, 15, "data.train", {"only entry"});
    expect_error("data: {val: builtin:markov}", 1, 13, "data.val", {"not allowed"});
    expect_error("distributed: {gradient_allreduce: fp32, error_feedback: true}",
                 1,
                 57,
                 "distributed.error_feedback",
                 {"needs an encoded gradient exchange", "bf16 or int8"});
    expect_error("distributed: {gradient_allreduce: int4}",
                 1,
                 35,
                 "distributed.gradient_allreduce",
                 {"fp32", "bf16", "int8"});
}

TEST(RecipeErrors, YamlSyntaxErrorsHaveLineAndColumn) {
    const RecipeError flow = parse_error("name: x\ntrain: {lr: 0.1\n");
    EXPECT_EQ(flow.file(), "bad.yaml");
    EXPECT_GT(flow.line(), 0);
    EXPECT_GT(flow.column(), 0);
    EXPECT_TRUE(flow.key_path().empty());
    EXPECT_THAT(flow.what(), HasSubstr("bad.yaml:" + std::to_string(flow.line()) + ":"));
    const RecipeError indent = parse_error("train:\n  lr: 0.1\n bad: [\n");
    EXPECT_GE(indent.line(), 3);
    const RecipeError tab = parse_error("train:\n\tlr: 0.1\n");
    EXPECT_EQ(tab.line(), 2);
}

TEST(RecipeErrors, OverrideErrorsNameTheOverride) {
    const RecipeError range = parse_error("name: ok\n", {"train.batch_size=-3"});
    EXPECT_EQ(range.file(), "--set train.batch_size=-3");
    EXPECT_EQ(range.line(), 0);
    EXPECT_EQ(range.key_path(), "train.batch_size");
    EXPECT_STREQ(range.what(),
                 "--set train.batch_size=-3: train.batch_size: -3 is out of range "
                 "(expected an integer >= 1)");
    const RecipeError unknown = parse_error("", {"train.lr_min=0.1"});
    EXPECT_EQ(unknown.file(), "--set train.lr_min=0.1");
    EXPECT_THAT(unknown.what(), HasSubstr("did you mean 'train.min_lr'?"));
    EXPECT_THAT(parse_error("", {"train.lr"}).what(), HasSubstr("expected key.path=value"));
    const RecipeError syntax = parse_error("", {"train.betas=[0.9"});
    EXPECT_EQ(syntax.file(), "--set train.betas=[0.9");
    EXPECT_EQ(syntax.line(), 1);
    EXPECT_GT(syntax.column(), 12);
    EXPECT_THAT(parse_error("", {"train.lr=abc"}).what(), HasSubstr("got 'abc'"));
    // Cross-key rule broken by an override is reported at the override.
    EXPECT_EQ(parse_error("train: {steps: 10}\n", {"train.warmup_steps=20"}).file(),
              "--set train.warmup_steps=20");
    // The file's section that cannot hold the override's key.
    const RecipeError section = parse_error("train: 5\n", {"train.lr=0.1"});
    EXPECT_EQ(section.file(), "bad.yaml");
    EXPECT_EQ(section.line(), 1);
    // apply_overrides names the override too.
    try {
        apply_overrides(Recipe{}, {"model.family=gpt3"});
        ADD_FAILURE() << "no error";
    } catch (const RecipeError& e) {
        EXPECT_EQ(e.file(), "--set model.family=gpt3");
        EXPECT_THAT(e.what(), HasSubstr("gpt2, llama"));
    }
}

}  // namespace
}  // namespace lowbit::config::testing
