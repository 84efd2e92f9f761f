// The qat: section of the recipe: the defaults of the method's reference code
// (docs/efficientqat.md §Settings), a tiny-model recipe, --set, every validation error with its
// location, and JSON and YAML round trips.
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recipe_test_util.h"

namespace lowbit::config::testing {
namespace {

using ::testing::HasSubstr;

TEST(RecipeQat, DefaultsAreTheReferenceCodes) {
    // main_block_ap.py: train_size 4096, val_size 64, training_seqlen 2048, epochs 2,
    // batch_size 2, quant_lr 1e-4, weight_lr 1e-5, min_lr_factor 20, wd 0; main_e2e_qp.py:
    // 4096 windows of 4096 tokens, global batch 32, 1 epoch, lr 1e-5 (3/4 bits), warmup 0.03,
    // max_grad_norm 0.3; GPTQ: damp 0.01 of the mean diagonal, 128-column lazy blocks.
    const QatSpec q = parse_recipe_yaml("name: x\n", "r").qat;
    EXPECT_EQ(q, QatSpec{});
    EXPECT_EQ(q.method, QatMethod::kEfficientQat);
    EXPECT_EQ(q.bits, 4);
    EXPECT_EQ(q.group_size, 128);
    EXPECT_EQ(q.block_ap.samples, 4096);
    EXPECT_EQ(q.block_ap.val_samples, 64);
    EXPECT_EQ(q.block_ap.seq_len, 2048);
    EXPECT_EQ(q.block_ap.epochs, 2);
    EXPECT_EQ(q.block_ap.batch, 2);
    EXPECT_EQ(q.block_ap.quant_lr, 1e-4);
    EXPECT_EQ(q.block_ap.weight_lr, 1e-5);
    EXPECT_EQ(q.block_ap.min_lr_factor, 20.0);
    EXPECT_EQ(q.block_ap.weight_decay, 0.0);
    EXPECT_TRUE(q.block_ap.train_norms);
    EXPECT_TRUE(q.block_ap.train_weights);
    EXPECT_TRUE(q.block_ap.train_quant_params);
    EXPECT_EQ(q.e2e_qp.samples, 4096);
    EXPECT_EQ(q.e2e_qp.seq_len, 4096);
    EXPECT_EQ(q.e2e_qp.global_batch, 32);
    EXPECT_EQ(q.e2e_qp.epochs, 1);
    EXPECT_EQ(q.e2e_qp.lr, 1e-5);
    EXPECT_EQ(q.e2e_qp.warmup_ratio, 0.03);
    EXPECT_EQ(q.e2e_qp.grad_clip, 0.3);
    EXPECT_EQ(q.gptq.damp, 0.01);
    EXPECT_FALSE(q.gptq.act_order);
    EXPECT_EQ(q.gptq.block_size, 128);
    EXPECT_STREQ(to_string(QatMethod::kGptq), "gptq");
    EXPECT_STREQ(to_string(QatMethod::kEfficientQat), "efficientqat");
}

TEST(RecipeQat, ATinyModelRecipeAndSet) {
    const Recipe r = parse_recipe_yaml(R"(qat:
  source: llama-8m
  method: gptq
  bits: 2
  group_size: 64
  eval: [a.txt]
  block_ap: {samples: 256, val_samples: 16, seq_len: 128, epochs: 1, batch: 4,
             weight_lr: 2.0e-5, train_norms: false, precision: bf16}
  e2e_qp: {samples: 512, seq_len: 128, global_batch: 16, micro_batch: 8, lr: 2.0e-5}
  gptq: {damp: 0.05, act_order: true, block_size: 64}
)",
                                       "r");
    EXPECT_EQ(r.qat.source, "llama-8m");
    EXPECT_EQ(r.qat.method, QatMethod::kGptq);
    EXPECT_EQ(r.qat.bits, 2);
    EXPECT_EQ(r.qat.group_size, 64);
    EXPECT_EQ(r.qat.eval.size(), 1U);
    EXPECT_EQ(r.qat.block_ap.samples, 256);
    EXPECT_EQ(r.qat.block_ap.batch, 4);
    EXPECT_EQ(r.qat.block_ap.weight_lr, 2e-5);
    EXPECT_FALSE(r.qat.block_ap.train_norms);
    EXPECT_EQ(r.qat.block_ap.precision, Precision::kBf16);
    EXPECT_EQ(r.qat.e2e_qp.micro_batch, 8);
    EXPECT_EQ(r.qat.gptq.damp, 0.05);
    EXPECT_TRUE(r.qat.gptq.act_order);
    EXPECT_EQ(r.qat.gptq.block_size, 64);
    // qat.source names a run, so it is not resolved against the recipe's folder.
    const Recipe s =
        parse_recipe_yaml("", "dir/r.yaml", {"qat.source=7", "qat.method=rtn", "qat.bits=3"});
    EXPECT_EQ(s.qat.source, "7");
    EXPECT_EQ(s.qat.method, QatMethod::kRtn);
    EXPECT_EQ(s.qat.bits, 3);
}

TEST(RecipeQat, EveryErrorNamesItsKeyAndPlace) {
    expect_error("qat:\n  bits: 5\n", 2, 9, "qat.bits", "2, 3, 4 or 8");
    expect_error("qat:\n  method: awq\n", 2, 11, "qat.method", "efficientqat, rtn, gptq");
    expect_error("qat:\n  group_size: 0\n", 2, 15, "qat.group_size", "[1,");
    expect_error("qat:\n  block_ap:\n    epochs: -1\n", 3, 13, "qat.block_ap.epochs", "[0,");
    expect_error(
        "qat:\n  block_ap: {min_lr_factor: 0.5}\n", 2, 29, "qat.block_ap.min_lr_factor", ">= 1");
    expect_error("qat:\n  e2e_qp: {warmup_ratio: 1}\n", 2, 26, "qat.e2e_qp.warmup_ratio", "[0, 1)");
    expect_error("qat:\n  e2e_qp:\n    micro_batch: 64\n",
                 3,
                 18,
                 "qat.e2e_qp.micro_batch",
                 "64 is above qat.e2e_qp.global_batch (32)");
    // global_batch above samples leaves E2E-QP without a step, even when samples is a default.
    expect_error("qat:\n  e2e_qp:\n    samples: 16\n",
                 3,
                 14,
                 "qat.e2e_qp.global_batch",
                 "no step would be taken");
    expect_error("qat:\n  block_ap: {samples: 4, batch: 8}\n",
                 2,
                 33,
                 "qat.block_ap.batch",
                 "8 is above qat.block_ap.samples (4)");
    expect_error("qat:\n  gptq: {sharpness: 1}\n", 2, 10, "qat.gptq.sharpness", "unknown key");
    const RecipeError e = parse_error("", {"qat.bits=7"});
    EXPECT_EQ(e.file(), "--set qat.bits=7");
    EXPECT_THAT(e.what(), HasSubstr("2, 3, 4 or 8"));
}

TEST(RecipeQat, RoundTripsThroughJsonAndYaml) {
    Recipe r;
    r.qat.source = "3";
    r.qat.method = QatMethod::kRtn;
    r.qat.bits = 3;
    r.qat.group_size = 32;
    r.qat.eval = {"/data/test.txt"};
    r.qat.block_ap.calibration = {"/data/train.txt"};
    r.qat.block_ap.samples = 12;
    r.qat.block_ap.train_quant_params = false;
    r.qat.e2e_qp.corpus = {"/data/more.txt"};
    r.qat.e2e_qp.epochs = 0;
    r.qat.gptq.act_order = true;
    EXPECT_EQ(recipe_from_json(recipe_to_json(r)), r);
    EXPECT_EQ(parse_recipe_yaml(recipe_to_yaml(r), "r").qat, r.qat);
}

}  // namespace
}  // namespace lowbit::config::testing
