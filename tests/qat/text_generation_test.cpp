// Sampling from a packed model (docs/efficientqat.md §Generating text): greedy decoding equals an
// argmax loop written here over full forwards; top-k 1 is greedy at any temperature; the same
// seed gives the same tokens; no id beyond the tokenizer's vocabulary is drawn; a history longer
// than the context is cut to its last `context` tokens.
#include "lowbit/eval/text_generation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tiny_model.h"

namespace lowbit::eval {
namespace {

using qat::test::kTinyContext;
using qat::test::quantized_model;

TEST(TextGenerationTest, GreedyDecodingIsTheArgmaxOfEachNextTokenDistribution) {
    auto model = quantized_model(config::ModelFamily::kLlama, 4);
    const std::vector<int64_t> prompt = {5, 17, 3};
    SamplingOptions o;
    o.temperature = 0;
    o.new_tokens = 24;  // runs past the context of 16
    const std::vector<int64_t> got = sample_tokens(*model, prompt, 90, o);
    std::vector<int64_t> history = prompt;
    torch::NoGradGuard no_grad;
    for (int64_t n = 0; n < o.new_tokens; ++n) {
        const auto start = static_cast<int64_t>(history.size()) > kTinyContext
                               ? static_cast<int64_t>(history.size()) - kTinyContext
                               : 0;
        const torch::Tensor ids =
            torch::tensor(std::vector<int64_t>(history.begin() + start, history.end()))
                .unsqueeze(0);
        const torch::Tensor last = model->forward(ids)[0][ids.size(1) - 1].slice(0, 0, 90);
        history.push_back(last.argmax().item<int64_t>());
    }
    EXPECT_EQ(got, std::vector<int64_t>(history.begin() + 3, history.end()));
}

TEST(TextGenerationTest, SeedsTopKAndTheVocabularyBound) {
    auto model = quantized_model(config::ModelFamily::kGpt2, 4);
    SamplingOptions o;
    o.temperature = 1.5;
    o.new_tokens = 40;
    o.seed = 7;
    const std::vector<int64_t> a = sample_tokens(*model, {1}, 50, o);
    EXPECT_EQ(sample_tokens(*model, {1}, 50, o), a);
    o.seed = 8;
    EXPECT_NE(sample_tokens(*model, {1}, 50, o), a);
    EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](int64_t id) { return id >= 0 && id < 50; }));
    // At temperature 1.5 over 50 ids, 40 draws are not all the same token.
    EXPECT_GT(std::set<int64_t>(a.begin(), a.end()).size(), 5U);
    o.top_k = 1;
    SamplingOptions greedy;
    greedy.temperature = 0;
    greedy.new_tokens = 40;
    EXPECT_EQ(sample_tokens(*model, {1}, 50, o), sample_tokens(*model, {1}, 50, greedy));
}

TEST(TextGenerationTest, RefusesAnEmptyPromptAndAVocabularyLargerThanTheModels) {
    auto model = qat::test::tiny_model(config::ModelFamily::kLlama);
    EXPECT_THROW(sample_tokens(*model, {}, 50, {}), std::invalid_argument);
    EXPECT_THROW(sample_tokens(*model, {1}, 500, {}), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::eval
