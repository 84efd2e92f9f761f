// Block-AP on tiny GPT-2 and Llama models (docs/efficientqat.md §Block-AP): the two activation
// streams (equal at block 0, then FP block outputs and finished-block outputs), the ablation
// switches, the learning-rate schedule, training against the RTN starting point, and resuming
// from a finished block.
#include "lowbit/qat/block_ap.h"

#include "lowbit/qat/packed_linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "tiny_model.h"

namespace lowbit::qat {
namespace {

using test::tiny_model;

torch::Tensor token_windows(int64_t n, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randint(0, test::kTinyVocab, {n, test::kTinyContext}, gen);
}

BlockApOptions small_options() {
    BlockApOptions o;
    o.spec = {.bits = 2, .group_size = 32};
    o.epochs = 2;
    o.batch = 4;
    o.quant_lr = 1e-3;
    o.weight_lr = 1e-4;
    return o;
}

TEST(BlockApTest, TheStreamsStartEqualAndFollowTheFpAndTheQuantizedBlocks) {
    for (const auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        auto model = tiny_model(family);
        auto reference = tiny_model(family);  // same seed: the untouched FP model
        const torch::Tensor train = token_windows(16, 1);
        const torch::Tensor val = token_windows(8, 2);
        ActivationStreams s = block_zero_inputs(*model, train, val, 4);
        ASSERT_TRUE(torch::equal(s.fp_train, s.quant_train));
        ASSERT_TRUE(torch::equal(s.fp_val, s.quant_val));
        for (int64_t block = 0; block < 2; ++block) {
            const ActivationStreams before{
                s.fp_train.clone(), s.quant_train.clone(), s.fp_val.clone(), s.quant_val.clone()};
            train_block(*model, block, s, small_options(), {});
            // FP stream: the untouched block applied to the FP inputs.
            EXPECT_TRUE(torch::equal(s.fp_train, run_block(*reference, block, before.fp_train, 4)));
            EXPECT_TRUE(torch::equal(s.fp_val, run_block(*reference, block, before.fp_val, 4)));
            // Quantized stream: the finished (packed) block applied to the quantized inputs.
            EXPECT_TRUE(
                torch::equal(s.quant_train, run_block(*model, block, before.quant_train, 4)));
            for (const model::Linear& linear : model->block_linears(block)) {
                EXPECT_NE(std::dynamic_pointer_cast<PackedLinear>(linear->weight_only()), nullptr)
                    << linear->path();
            }
        }
        // The two streams differ after a quantized block.
        EXPECT_FALSE(torch::equal(s.fp_train, s.quant_train));
    }
}

TEST(BlockApTest, TrainingBeatsTheRoundToNearestStartOnValidation) {
    auto model = tiny_model(config::ModelFamily::kLlama);
    ActivationStreams s = block_zero_inputs(*model, token_windows(32, 3), token_windows(8, 4), 4);
    BlockApOptions rtn = small_options();
    rtn.epochs = 0;
    auto rtn_model = tiny_model(config::ModelFamily::kLlama);
    ActivationStreams rtn_streams = s;
    train_block(*rtn_model, 0, rtn_streams, rtn, {});
    const double rtn_val =
        (rtn_streams.quant_val - rtn_streams.fp_val).square().mean().item<double>();
    std::vector<BlockApEpoch> epochs;
    train_block(*model, 0, s, small_options(), [&](const BlockApEpoch& e) { epochs.push_back(e); });
    ASSERT_EQ(epochs.size(), 2U);
    EXPECT_EQ(epochs[1].epoch, 2);
    EXPECT_GT(epochs[1].seconds, 0.0);
    EXPECT_LT(epochs[1].val_loss, rtn_val) << "RTN " << rtn_val;
    EXPECT_LT(epochs[1].train_loss, epochs[0].train_loss);
    // The validation MSE of the last epoch is that of the finished block up to finalising.
    EXPECT_NEAR((s.quant_val - s.fp_val).square().mean().item<double>(),
                epochs[1].val_loss,
                0.05 * epochs[1].val_loss);
}

TEST(BlockApTest, WithoutQuantizationTheLossIsZeroAtBlockZero) {
    auto model = tiny_model(config::ModelFamily::kLlama);
    ActivationStreams s = block_zero_inputs(*model, token_windows(8, 5), token_windows(4, 6), 4);
    BlockApOptions o = small_options();
    o.quantize = false;
    std::vector<BlockApEpoch> epochs;
    train_block(*model, 0, s, o, [&](const BlockApEpoch& e) { epochs.push_back(e); });
    ASSERT_EQ(epochs.size(), 2U);
    for (const BlockApEpoch& e : epochs) {
        EXPECT_EQ(e.train_loss, 0.0);
        EXPECT_EQ(e.val_loss, 0.0);
    }
}

TEST(BlockApTest, AblationSwitchesFreezeWhatTheySay) {
    const torch::Tensor train = token_windows(16, 7);
    const torch::Tensor val = token_windows(4, 8);
    auto original = tiny_model(config::ModelFamily::kLlama);
    // Only s and z: the codes are those of the original W under the final steps and zeros.
    {
        auto model = tiny_model(config::ModelFamily::kLlama);
        ActivationStreams s = block_zero_inputs(*model, train, val, 4);
        BlockApOptions o = small_options();
        o.train_weights = false;
        o.train_norms = false;
        const FinishedBlock done = train_block(*model, 0, s, o, {});
        for (const model::Linear& linear : original->block_linears(0)) {
            const PackedWeight& p = done.linears.at(linear->path());
            const GroupQuantizer final_quantizer(p.scales.t().to(torch::kFloat32),
                                                 unpack_zero_points(p).to(torch::kFloat32),
                                                 p.spec);
            EXPECT_TRUE(torch::equal(unpack_codes(p), final_quantizer.codes(linear->weight())))
                << linear->path();
        }
        EXPECT_TRUE(torch::equal(done.norms.at("norm1.weight"),
                                 original->block(0)->named_parameters()["norm1.weight"]));
    }
    // Only W: the steps and zeros are the round-to-nearest ones of the original weight.
    {
        auto model = tiny_model(config::ModelFamily::kLlama);
        ActivationStreams s = block_zero_inputs(*model, train, val, 4);
        BlockApOptions o = small_options();
        o.train_quant_params = false;
        const FinishedBlock done = train_block(*model, 0, s, o, {});
        for (const model::Linear& linear : original->block_linears(0)) {
            GroupQuantizer rtn(linear->weight(), o.spec);
            rtn.finalize();
            const PackedWeight& p = done.linears.at(linear->path());
            EXPECT_TRUE(torch::equal(p.scales.t().to(torch::kFloat32), rtn.step()))
                << linear->path();
            EXPECT_TRUE(torch::equal(unpack_zero_points(p), rtn.effective_zero_point()));
        }
        // Norms train at the weight rate by default.
        EXPECT_FALSE(torch::equal(done.norms.at("norm1.weight"),
                                  original->block(0)->named_parameters()["norm1.weight"]));
    }
}

TEST(BlockApTest, TheLearningRateFollowsACosineToItsFloor) {
    EXPECT_DOUBLE_EQ(block_ap_learning_rate(1e-4, 20, 0, 100), 1e-4);
    EXPECT_NEAR(block_ap_learning_rate(1e-4, 20, 50, 100), (1e-4 + 5e-6) / 2, 1e-18);
    EXPECT_NEAR(block_ap_learning_rate(1e-4, 20, 100, 100), 5e-6, 1e-18);
    EXPECT_NEAR(block_ap_learning_rate(1e-4, 20, 25, 100),
                5e-6 + 9.5e-5 * 0.5 * (1 + std::cos(std::numbers::pi / 4)),
                1e-18);
}

TEST(BlockApTest, ResumingFromAFinishedBlockRepeatsTheRun) {
    const torch::Tensor train = token_windows(8, 9);
    const torch::Tensor val = token_windows(4, 10);
    auto straight = tiny_model(config::ModelFamily::kGpt2);
    ActivationStreams s = block_zero_inputs(*straight, train, val, 4);
    const FinishedBlock first = train_block(*straight, 0, s, small_options(), {});
    const FinishedBlock second = train_block(*straight, 1, s, small_options(), {});

    auto resumed = tiny_model(config::ModelFamily::kGpt2);
    ActivationStreams r = block_zero_inputs(*resumed, train, val, 4);
    install_finished_block(*resumed, first, &r, 4);
    EXPECT_TRUE(torch::equal(
        r.quant_train,
        run_block(*straight, 0, block_zero_inputs(*straight, train, val, 4).quant_train, 4)));
    const FinishedBlock second_again = train_block(*resumed, 1, r, small_options(), {});
    for (const auto& [path, packed] : second.linears) {
        EXPECT_TRUE(torch::equal(packed.qweight, second_again.linears.at(path).qweight)) << path;
        EXPECT_TRUE(torch::equal(packed.scales, second_again.linears.at(path).scales)) << path;
    }
}

}  // namespace
}  // namespace lowbit::qat
