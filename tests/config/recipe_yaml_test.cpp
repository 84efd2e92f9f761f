// lowbit_config YAML reading: defaults, a full recipe, string-or-list keys, overrides, relative
// path resolution, missing files and the round trips of default_recipe_yaml and recipe_to_yaml.
#include "lowbit/config/recipe_yaml.h"

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_schema.h"

#include <gtest/gtest.h>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {
namespace fs = std::filesystem;

TEST(RecipeDefaults, MatchTheStructDefaults) {
    const Recipe r;
    EXPECT_EQ(r.name, "default");
    EXPECT_EQ(r.seed, 1337u);
    EXPECT_EQ(r.model.family, ModelFamily::kGpt2);
    EXPECT_EQ(r.model.layers, 4);
    EXPECT_EQ(r.data.train, std::vector<std::string>{"builtin:markov"});
    EXPECT_EQ(r.train.steps, 2000);
    EXPECT_EQ(r.train.betas[1], 0.99);
    EXPECT_STREQ(to_string(ModelFamily::kLlama), "llama");
    EXPECT_STREQ(to_string(DataFormat::kJsonl), "jsonl");
    EXPECT_STREQ(to_string(TokenizerKind::kSentencePiece), "sentencepiece");
    EXPECT_STREQ(to_string(SentencePieceType::kUnigram), "unigram");
    EXPECT_STREQ(to_string(Schedule::kConstant), "constant");
    EXPECT_STREQ(to_string(Precision::kBf16), "bf16");
    EXPECT_STREQ(to_string(DeviceChoice::kCuda), "cuda");
}

TEST(RecipeDefaults, EffectiveFeedForwardWidth) {
    ModelSpec m;
    m.d_model = 128;
    EXPECT_EQ(effective_d_ff(m), 512);
    m.family = ModelFamily::kLlama;
    EXPECT_EQ(effective_d_ff(m), 352);  // ceil(1024/3) = 342 -> 352
    m.d_model = 96;
    EXPECT_EQ(effective_d_ff(m), 256);  // exactly 256, already a multiple of 32
    m.d_model = 4096;
    EXPECT_EQ(effective_d_ff(m), 10944);  // ceil(32768/3) = 10923 -> 10944
    m.d_ff = 1000;
    EXPECT_EQ(effective_d_ff(m), 1000);
}

TEST(RecipeYaml, EmptyRecipesGiveAllDefaults) {
    for (const char* text : {"", "{}", "# only a comment\n", "model:\ntrain: {}\n", "---\n"}) {
        EXPECT_EQ(parse_recipe_yaml(text, "empty.yaml"), Recipe{}) << text;
    }
}

TEST(RecipeYaml, FullRecipeIsParsed) {
    const std::string text = R"(name: llama-small
seed: 42
model:
  family: llama
  layers: 6
  heads: 8
  d_model: 256
  d_ff: 704
  context: 128
  dropout: 0.1
  tie_embeddings: false
  vocab_size: 8192
  norm_eps: 1.0e-6
  rope_theta: 500000
  init_std: 0.01
data:
  train: [a.txt, /abs/b.jsonl]
  val: v.txt
  format: jsonl
  tokenizer: sentencepiece
  sentencepiece_type: unigram
  tokenizer_model: tok/tokenizer.model
  vocab_size: 8000
  val_fraction: 0.05
  markov: {words: 100, successors: 10, concentration: 0.5, tokens: 1_000_000, seed: 9}
train:
  steps: 5000
  batch_size: 32
  grad_accum: 4
  lr: 6e-4
  min_lr: 6e-5
  warmup_steps: 200
  schedule: linear
  weight_decay: 0.0
  betas: [0.9, 0.95]
  eps: 1e-10
  grad_clip: 0
  precision: bf16
  eval_every: 100
  eval_batches: 5
  checkpoint_every: 1000
  log_every: 10
  device: cuda
  threads: 8
)";
    const Recipe r = parse_recipe_yaml(text, "full.yaml");
    EXPECT_EQ(r.name, "llama-small");
    EXPECT_EQ(r.seed, 42u);
    EXPECT_EQ(r.model.family, ModelFamily::kLlama);
    EXPECT_EQ(r.model.layers, 6);
    EXPECT_EQ(r.model.heads, 8);
    EXPECT_EQ(r.model.d_model, 256);
    EXPECT_EQ(r.model.d_ff, 704);
    EXPECT_EQ(r.model.context, 128);
    EXPECT_EQ(r.model.dropout, 0.1);
    EXPECT_FALSE(r.model.tie_embeddings);
    EXPECT_EQ(r.model.vocab_size, 8192);
    EXPECT_EQ(r.model.norm_eps, 1e-6);
    EXPECT_EQ(r.model.rope_theta, 500000.0);
    EXPECT_EQ(r.model.init_std, 0.01);
    EXPECT_EQ(r.data.train, (std::vector<std::string>{"a.txt", "/abs/b.jsonl"}));
    EXPECT_EQ(r.data.val, std::vector<std::string>{"v.txt"});
    EXPECT_EQ(r.data.format, DataFormat::kJsonl);
    EXPECT_EQ(r.data.tokenizer, TokenizerKind::kSentencePiece);
    EXPECT_EQ(r.data.sentencepiece_type, SentencePieceType::kUnigram);
    EXPECT_EQ(r.data.tokenizer_model, "tok/tokenizer.model");  // no file: kept as given
    EXPECT_EQ(r.data.vocab_size, 8000);
    EXPECT_EQ(r.data.val_fraction, 0.05);
    EXPECT_EQ(r.data.markov.words, 100);
    EXPECT_EQ(r.data.markov.successors, 10);
    EXPECT_EQ(r.data.markov.concentration, 0.5);
    EXPECT_EQ(r.data.markov.tokens, 1000000);
    EXPECT_EQ(r.data.markov.seed, 9u);
    EXPECT_EQ(r.train.steps, 5000);
    EXPECT_EQ(r.train.batch_size, 32);
    EXPECT_EQ(r.train.grad_accum, 4);
    EXPECT_EQ(r.train.lr, 6e-4);
    EXPECT_EQ(r.train.min_lr, 6e-5);
    EXPECT_EQ(r.train.warmup_steps, 200);
    EXPECT_EQ(r.train.schedule, Schedule::kLinear);
    EXPECT_EQ(r.train.weight_decay, 0.0);
    EXPECT_EQ(r.train.betas, (std::array<double, 2>{0.9, 0.95}));
    EXPECT_EQ(r.train.eps, 1e-10);
    EXPECT_EQ(r.train.grad_clip, 0.0);
    EXPECT_EQ(r.train.precision, Precision::kBf16);
    EXPECT_EQ(r.train.eval_every, 100);
    EXPECT_EQ(r.train.eval_batches, 5);
    EXPECT_EQ(r.train.checkpoint_every, 1000);
    EXPECT_EQ(r.train.log_every, 10);
    EXPECT_EQ(r.train.device, DeviceChoice::kCuda);
    EXPECT_EQ(r.train.threads, 8);
}

TEST(RecipeYaml, CorpusKeysTakeAStringOrAList) {
    EXPECT_EQ(parse_recipe_yaml("data: {train: one.txt}", "s").data.train,
              std::vector<std::string>{"one.txt"});
    EXPECT_EQ(parse_recipe_yaml("data:\n  train:\n    - a.txt\n    - b.txt\n", "s").data.train,
              (std::vector<std::string>{"a.txt", "b.txt"}));
    EXPECT_EQ(parse_recipe_yaml("data: {val: [x.txt]}", "s").data.val,
              std::vector<std::string>{"x.txt"});
    EXPECT_TRUE(parse_recipe_yaml("data: {val: []}", "s").data.val.empty());
    EXPECT_TRUE(parse_recipe_yaml("data: {val: ~}", "s").data.val.empty());
    // The CLI tests' flow style, with a ':' inside a plain scalar.
    const Recipe tiny = parse_recipe_yaml(
        "data: {train: builtin:markov, markov: {tokens: 60000}}\ntrain: {steps: 4, device: cpu}\n",
        "s");
    EXPECT_EQ(tiny.data.train, std::vector<std::string>{"builtin:markov"});
    EXPECT_EQ(tiny.data.markov.tokens, 60000);
    EXPECT_EQ(tiny.train.warmup_steps, 100);  // the default may exceed steps; a given one may not
}

TEST(RecipeYaml, OverridesApplyToTheTreeBeforeValidation) {
    const std::string text = "name: base\ntrain:\n  lr: 0.01\n  steps: 10\n  warmup_steps: 5\n";
    const Recipe r = parse_recipe_yaml(text,
                                       "r.yaml",
                                       {"train.lr=0.002",
                                        "data.train=[a.txt,b.txt]",
                                        "train.betas=[0.9,0.95]",
                                        "model={layers: 2, heads: 2}",
                                        "model.d_model=64",
                                        "name=it's mine",
                                        "data.markov.words=10"});
    EXPECT_EQ(r.train.lr, 0.002);
    EXPECT_EQ(r.train.steps, 10);  // untouched keys stay
    EXPECT_EQ(r.data.train, (std::vector<std::string>{"a.txt", "b.txt"}));
    EXPECT_EQ(r.train.betas, (std::array<double, 2>{0.9, 0.95}));
    EXPECT_EQ(r.model.layers, 2);
    EXPECT_EQ(r.model.d_model, 64);
    EXPECT_EQ(r.data.markov.words, 10);
    EXPECT_EQ(r.name, "it's mine");
    // A later override wins; an override may fix what the file alone gets wrong.
    EXPECT_EQ(parse_recipe_yaml("", "r", {"train.steps=3", "train.steps=30"}).train.steps, 30);
    EXPECT_EQ(parse_recipe_yaml("train: {steps: 10}", "r", {"train.warmup_steps=10"}).train.steps,
              10);
}

TEST(RecipeYaml, ApplyOverridesToARecipe) {
    Recipe base;
    base.name = "from code";
    base.train.lr = 0.1 + 0.2;
    EXPECT_EQ(apply_overrides(base, {}), base);
    const Recipe r =
        apply_overrides(base, {"train.steps=7", "train.warmup_steps=3", "data.val=v.txt"});
    Recipe expected = base;
    expected.train.steps = 7;
    expected.train.warmup_steps = 3;
    expected.data.val = {"v.txt"};
    EXPECT_EQ(r, expected);
    // Without changes the tree of a recipe reads back exactly.
    EXPECT_EQ(apply_overrides(base, {"seed=1337"}), base);
}

TEST(RecipeYaml, RelativePathsResolveAgainstTheRecipeFolder) {
    ScratchDir dir;
    const fs::path recipe = dir.write("sub/r.yaml",
                                      "data:\n  train: [corpus.txt, ../up.txt, /abs/x.txt]\n"
                                      "  val: v/val.txt\n  tokenizer: sentencepiece\n"
                                      "  tokenizer_model: tok.model\n");
    const Recipe r = load_recipe_file(recipe, {});
    const fs::path folder = fs::absolute(dir.path() / "sub");
    EXPECT_EQ(r.data.val, std::vector<std::string>{(folder / "v/val.txt").string()});
    EXPECT_EQ(r.data.tokenizer_model, (folder / "tok.model").string());
    EXPECT_EQ(r.data.train[0], (folder / "corpus.txt").string());
    EXPECT_EQ(r.data.train[1], (dir.path() / "up.txt").lexically_normal().string());
    EXPECT_EQ(r.data.train[2], "/abs/x.txt");
    EXPECT_EQ(
        load_recipe_file(dir.write("sub/b.yaml", "data: {train: builtin:markov}\n")).data.train,
        std::vector<std::string>{"builtin:markov"});
    // Overrides are command-line values: kept as given.
    const Recipe o = load_recipe_file(recipe, {"data.val=mine.txt"});
    EXPECT_EQ(o.data.val, std::vector<std::string>{"mine.txt"});
    EXPECT_EQ(o.data.tokenizer_model, (folder / "tok.model").string());
    // Text with no file: kept as given.
    EXPECT_EQ(parse_recipe_yaml("data: {train: corpus.txt}", "t").data.train[0], "corpus.txt");
}

TEST(RecipeYaml, LoadsFilesAndNamesMissingOnes) {
    ScratchDir dir;
    EXPECT_EQ(load_recipe_file(dir.write("empty.yaml", "")), Recipe{});
    EXPECT_EQ(load_recipe_file(dir.write("n.yaml", "name: n\n")).name, "n");
    const fs::path missing = dir.path() / "nope.yaml";
    try {
        load_recipe_file(missing);
        FAIL() << "no error";
    } catch (const RecipeError& e) {
        EXPECT_EQ(e.file(), missing.string());
        EXPECT_NE(std::string(e.what()).find("nope.yaml"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
    }
    EXPECT_THROW(load_recipe_file(dir.path()), RecipeError);
}

TEST(RecipeYaml, DefaultRecipeReadsBackAsDefaults) {
    const std::string text = default_recipe_yaml();
    EXPECT_EQ(parse_recipe_yaml(text, "defaults.yaml"), Recipe{});
    ScratchDir dir;
    EXPECT_EQ(load_recipe_file(dir.write("d.yaml", text)), Recipe{});
    // Every key is there with its doc and what it accepts.
    for (const FieldSpec& field : recipe_fields()) {
        const std::string key = field.path.substr(field.path.rfind('.') + 1);
        EXPECT_NE(text.find(key + ": "), std::string::npos) << field.path;
        EXPECT_NE(text.find("# " + field.doc + "."), std::string::npos) << field.path;
        EXPECT_NE(text.find("Expected: " + describe_expected(field) + ".\n"), std::string::npos)
            << field.path;
    }
    EXPECT_NE(text.find("one of: cosine, linear, constant"), std::string::npos);
    EXPECT_NE(text.find("  markov:\n"), std::string::npos);
    std::size_t start = 0;
    for (std::size_t end = text.find('\n'); end != std::string::npos;
         end = text.find('\n', start)) {
        EXPECT_LE(end - start, 100u) << text.substr(start, end - start);
        start = end + 1;
    }
}

TEST(RecipeYaml, RecipeToYamlRoundTrips) {
    Recipe r;
    r.name = "quote \" backslash \\ colon: hash # tab\t";
    r.seed = UINT64_MAX;
    r.model.family = ModelFamily::kLlama;
    r.model.heads = 2;
    r.model.dropout = 0.1 + 0.2;
    r.model.norm_eps = 1e-300;
    r.model.init_std = 1.0 / 3.0;
    r.data.train = {"a b.txt", "true", "123"};
    r.data.val = {};
    r.train.steps = INT64_MAX;
    r.train.betas = {0.0, 0.999999999999};
    r.train.lr = 12345678.9;
    r.train.min_lr = 0.0;
    const std::string text = recipe_to_yaml(r);
    EXPECT_EQ(text.find("Expected:"), std::string::npos) << "no comments expected";
    EXPECT_EQ(text.rfind("name: ", 0), 0u) << text;
    EXPECT_EQ(parse_recipe_yaml(text, "shown.yaml"), r) << text;
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(Recipe{}), "d"), Recipe{});
}

}  // namespace
}  // namespace lowbit::config::testing
