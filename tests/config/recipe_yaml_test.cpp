// lowbit_config YAML reading: the defaults (against the documented values, and as the presets
// inherit them), a full recipe, string-or-list keys, overrides, relative path resolution, missing
// files and the round trips of default_recipe_yaml and recipe_to_yaml.
#include "lowbit/config/recipe_yaml.h"

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_schema.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {
namespace fs = std::filesystem;

// The default of every recipe key, stated here by hand from what the project documents or what
// the default has to be, with the reason next to it (README.md, resources/presets/pretrain/
// README.md, the docs/ notes, and the conventions of the models the engine reproduces; the few
// that no document gives say so). Written as YAML values so they go through the reader like a
// user's recipe; a key added to the schema must be added here with its reason.
struct DocumentedDefault {
    const char* path;
    const char* value;  // YAML
};

const std::vector<DocumentedDefault>& documented_defaults() {
    static const std::vector<DocumentedDefault> kRows = {
        {"name", "default"},  // the built-in default recipe runs under the name "default"
        {"seed", "1337"},     // nanoGPT's seed; the measured runs of docs/benchmarks.md use it
        // README: "The default recipe trains a tiny GPT-2 on builtin:markov"; the tiny model of
        // the presets README: 4 layers, 4 heads, d_model 128.
        {"model.family", "gpt2"},
        {"model.layers", "4"},
        {"model.heads", "4"},
        {"model.d_model", "128"},
        {"model.d_ff", "0"},       // schema doc: 0 = the family default (4·d_model for GPT-2)
        {"model.context", "512"},  // "512 × 4 (the built-in default)" of docs/benchmarks.md
        {"model.dropout", "0.0"},  // nanoGPT and the presets: no dropout at this size
        {"model.tie_embeddings", "true"},    // GPT-2 (HF GPT2LMHeadModel) ties lm_head to wte
        {"model.vocab_size", "0"},           // 0 = the tokenizer's vocabulary
        {"model.norm_eps", "1.0e-5"},        // GPT-2's layer_norm_epsilon
        {"model.rope_theta", "10000.0"},     // the RoPE paper's and HF Llama's base
        {"model.init_std", "0.02"},          // GPT-2's initializer_range
        {"model.fused_qkv", "false"},        // docs: Llama's q, k, v are separate by default
        {"model.fused_gate_up", "false"},    // docs: Llama's gate, up are separate by default
        {"data.train", "[builtin:markov]"},  // README: the default trains on builtin:markov
        {"data.val", "[]"},                  // empty: split off the end of train
        {"data.format", "auto"},             // by file extension
        {"data.tokenizer", "byte"},          // builtin:markov is ASCII text; presets: byte
        {"data.sentencepiece_type", "bpe"},  // SentencePiece's own default model type
        {"data.tokenizer_model", "''"},      // none: train one when sentencepiece is chosen
        {"data.vocab_size", "4096"},         // 2^12 pieces (stated by hand: no document gives it)
        {"data.val_fraction", "0.1"},  // "validation = the last 10% of the file" (presets README)
        // docs/benchmarks.md: "The default source (48 words, 6 successors, Dirichlet 1) has an
        // exact entropy rate of 0.1948 nats/char".
        {"data.markov.words", "48"},
        {"data.markov.successors", "6"},
        {"data.markov.concentration", "1.0"},
        {"data.markov.tokens", "2000000"},  // 2 MB of text (stated by hand)
        {"data.markov.seed", "7"},          // (stated by hand)
        // docs/benchmarks.md measures the built-in default over 2000 steps at lr 3e-3 -> 3e-4.
        {"train.steps", "2000"},
        {"train.batch_size", "4"},  // "512 × 4 (the built-in default)"
        {"train.grad_accum", "1"},
        {"train.rows_per_pass", "0"},  // docs/training.md §Passes: "0 (the default) is one pass"
        {"train.lr", "3.0e-3"},
        {"train.min_lr", "3.0e-4"},
        {"train.warmup_steps", "100"},  // presets README: 100 warmup steps
        {"train.schedule", "cosine"},   // presets README: cosine (they do not set it)
        // docs/quantized-pretraining.md: "Lowbit's recipe defaults are β = (0.9, 0.99),
        // ε = 1e-8, λ = 0.1".
        {"train.weight_decay", "0.1"},
        {"train.betas", "[0.9, 0.99]"},
        {"train.eps", "1.0e-8"},
        {"train.grad_clip", "1.0"},         // presets README: clip 1.0
        {"train.precision", "fp32"},        // presets README: fp32 master weights, no autocast
        {"train.eval_every", "250"},        // the presets' eval_every
        {"train.eval_batches", "20"},       // (stated by hand)
        {"train.checkpoint_every", "500"},  // four checkpoints in the 2000 steps
        {"train.log_every", "1"},           // every step's loss on the curve
        {"train.device", "auto"},           // CUDA when there is a device, else the CPU
        {"train.threads", "0"},             // schema doc: 0 = LibTorch's default
        // docs/quantized-pretraining.md: every entry is off by default (bits 32), with the
        // reference code's granularity and r_min per tensor type (its table of defaults),
        // group_size 128, symmetric, round to nearest, the reference grid.
        {"quant.weight", "{bits: 32, granularity: per_channel, min_range: 1.0e-5}"},
        {"quant.activation", "{bits: 32, granularity: per_token, min_range: 1.0e-5}"},
        {"quant.grad_output", "{bits: 32, granularity: per_token, min_range: 1.0e-9}"},
        {"quant.optim_m", "{bits: 32, granularity: per_channel, min_range: 1.0e-8}"},
        {"quant.optim_v", "{bits: 32, granularity: per_channel, min_range: 1.0e-8}"},
        {"quant.scope", "[]"},                 // empty: every linear including lm_head
        {"quant.backward", "paper"},           // the reference code's backward
        {"quant.split_qkv_grad", "false"},     // "off by default"
        {"quant.optim_v_mapping", "linear"},   // the reference code quantizes v itself
        {"quant.arithmetic", "fp32"},          // docs §Quantizer arithmetic: fp32 by default
        {"quant.forward_gemm", "fake_quant"},  // docs §Int8 forward GEMM: opt-in
        {"quant.overrides", "[]"},
        // README: "Every telemetry.every steps (default 100"; docs/quantized-pretraining.md:
        // bins "default 64", kinds "empty = all".
        {"telemetry.every", "100"},
        {"telemetry.steps", "[]"},
        {"telemetry.bins", "64"},
        {"telemetry.kinds", "[]"},
        // docs/distributed.md: exact fp32 averaging unless an encoding is chosen; feedback and
        // sharding are options.
        {"distributed.gradient_allreduce", "fp32"},
        {"distributed.error_feedback", "false"},
        {"distributed.shard_optimizer_states", "false"},
        // docs/efficientqat.md §Settings: the reference code's defaults (main_block_ap.py,
        // main_e2e_qp.py, GPTQ's damp 0.01 and 128-column blocks), EfficientQAT at w4g128 on the
        // source run's own data; no source until one is named.
        {"qat.source", "''"},
        {"qat.method", "efficientqat"},
        {"qat.bits", "4"},
        {"qat.group_size", "128"},
        {"qat.eval", "[]"},
        {"qat.block_ap.calibration", "[]"},
        {"qat.block_ap.samples", "4096"},
        {"qat.block_ap.val_samples", "64"},
        {"qat.block_ap.seq_len", "2048"},
        {"qat.block_ap.epochs", "2"},
        {"qat.block_ap.batch", "2"},
        {"qat.block_ap.quant_lr", "1.0e-4"},
        {"qat.block_ap.weight_lr", "1.0e-5"},
        {"qat.block_ap.min_lr_factor", "20"},
        {"qat.block_ap.weight_decay", "0"},
        {"qat.block_ap.train_norms", "true"},
        {"qat.block_ap.train_weights", "true"},
        {"qat.block_ap.train_quant_params", "true"},
        {"qat.block_ap.precision", "fp32"},
        {"qat.e2e_qp.corpus", "[]"},
        {"qat.e2e_qp.samples", "4096"},
        {"qat.e2e_qp.seq_len", "4096"},
        {"qat.e2e_qp.global_batch", "32"},
        {"qat.e2e_qp.micro_batch", "4"},
        {"qat.e2e_qp.epochs", "1"},
        {"qat.e2e_qp.lr", "1.0e-5"},
        {"qat.e2e_qp.warmup_ratio", "0.03"},
        {"qat.e2e_qp.grad_clip", "0.3"},
        {"qat.gptq.damp", "0.01"},
        {"qat.gptq.act_order", "false"},
        {"qat.gptq.block_size", "128"},
    };
    return kRows;
}

// The `--set` assignment that states one key's documented value: the key's own row, or for a key
// of a quant.<tensor> entry the entry's row, completed with the keys documented as every entry's
// defaults (group_size 128, symmetric, signed, round to nearest, the reference grid).
std::optional<std::string> documented_setting(const std::string& path) {
    for (const DocumentedDefault& row : documented_defaults()) {
        if (path == row.path) {
            return path + "=" + row.value;
        }
    }
    const std::string parent = path.substr(0, path.rfind('.'));
    if (parent.starts_with("quant.") && find_quant_tensor(parent.substr(6)) != nullptr) {
        for (const DocumentedDefault& row : documented_defaults()) {
            if (parent == row.path) {
                const std::string map = row.value;  // "{...}"
                return parent + "=" + map.substr(0, map.size() - 1) +
                       ", group_size: 128, symmetric: true, signed: true, rounding: nearest, "
                       "grid: reference}";
            }
        }
    }
    return std::nullopt;
}

TEST(RecipeDefaults, AreTheDocumentedValues) {
    const Recipe defaults;
    std::vector<std::string> all;
    for (const FieldSpec& field : recipe_fields()) {
        const std::optional<std::string> set = documented_setting(field.path);
        if (!set) {
            ADD_FAILURE() << field.path << " has no documented default in this test: add one";
            continue;
        }
        SCOPED_TRACE(*set);
        const Recipe documented = parse_recipe_yaml("", "documented defaults", {*set});
        EXPECT_TRUE(field.get(documented) == field.get(defaults))
            << field.path << ": the default differs from the documented value";
        all.push_back(*set);
    }
    // Setting every key to its documented value changes nothing at all.
    EXPECT_TRUE(parse_recipe_yaml("", "documented defaults", all) == defaults)
        << "the documented values together are not the defaults";
    // The lowercase names the YAML, the JSON, the database and the GUI share.
    EXPECT_STREQ(to_string(ModelFamily::kLlama), "llama");
    EXPECT_STREQ(to_string(DataFormat::kJsonl), "jsonl");
    EXPECT_STREQ(to_string(TokenizerKind::kSentencePiece), "sentencepiece");
    EXPECT_STREQ(to_string(SentencePieceType::kUnigram), "unigram");
    EXPECT_STREQ(to_string(Schedule::kConstant), "constant");
    EXPECT_STREQ(to_string(Precision::kBf16), "bf16");
    EXPECT_STREQ(to_string(DeviceChoice::kCuda), "cuda");
}

TEST(RecipeDefaults, ThePresetsInheritTheGridSettingsTheirReadmeStates) {
    // The presets leave schedule, AdamW's hyper-parameters, precision and the quantizer's
    // details to the defaults; resources/presets/pretrain/README.md states what the reproduction
    // table was measured with: "cosine, ... AdamW (0.9, 0.99), weight decay 0.1, clip 1.0, fp32
    // master weights, ... signed symmetric absmax scales ..., round to nearest, the paper
    // backward (dX = G·W, dW = Q(G)ᵀ·X), every linear including lm_head in scope". A changed
    // default would silently change every preset.
    const fs::path root = fs::path(LOWBIT_SOURCE_DIR) / "resources/presets/pretrain";
    int presets = 0;
    for (const char* family : {"gpt2", "llama"}) {
        for (const auto& file : fs::directory_iterator(root / family)) {
            SCOPED_TRACE(file.path().string());
            const Recipe r = load_recipe_file(file.path());
            EXPECT_EQ(r.train.schedule, Schedule::kCosine);
            EXPECT_EQ(r.train.betas, (std::array<double, 2>{0.9, 0.99}));
            EXPECT_EQ(r.train.weight_decay, 0.1);
            EXPECT_EQ(r.train.grad_clip, 1.0);
            EXPECT_EQ(r.train.precision, Precision::kFp32);
            EXPECT_EQ(r.train.grad_accum, 1);
            EXPECT_TRUE(r.quant.scope.empty());
            EXPECT_EQ(r.quant.backward, BackwardMode::kPaper);
            for (const QuantTensorSpec& t : quant_tensors()) {
                const QuantizerSpec& q = r.quant.*t.member;
                EXPECT_TRUE(q.symmetric) << t.name;
                EXPECT_EQ(q.rounding, Rounding::kNearest) << t.name;
                EXPECT_EQ(q.grid, QuantGrid::kReference) << t.name;
            }
            ++presets;
        }
    }
    EXPECT_EQ(presets, 38);  // the 19 configurations of the grid for each family
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
