// Windowed perplexity: a model whose logits are all zero predicts the uniform distribution, so
// its perplexity is exactly the vocabulary size; window counting follows the convention.
#include "lowbit/eval/perplexity.h"

#include <gtest/gtest.h>

namespace lowbit::eval {
namespace {

std::shared_ptr<model::LanguageModelImpl> uniform_model(int vocab) {
    model::ModelConfig cfg;
    cfg.layers = 1;
    cfg.heads = 1;
    cfg.d_model = 8;
    cfg.d_ff = 32;
    cfg.context = 16;
    cfg.vocab_size = vocab;
    auto m = model::create_model(cfg, 1);
    torch::NoGradGuard no_grad;
    for (auto& p : m->parameters()) {
        p.zero_();  // zero embeddings and head: every logit is 0
    }
    return m;
}

TEST(PerplexityTest, UniformModelHasPerplexityEqualToVocabulary) {
    auto m = uniform_model(50);
    std::vector<int64_t> tokens(16 * 5 + 7);
    for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = static_cast<int64_t>((i * 7) % 50);
    }
    const auto result = evaluate_perplexity(
        *m, tokens, 16, 2, torch::Device(torch::kCPU), config::Precision::kFp32);
    EXPECT_EQ(result.windows, 5);             // the 7-token tail is dropped
    EXPECT_EQ(result.scored_tokens, 5 * 15);  // the first token of each window is context only
    EXPECT_NEAR(result.perplexity, 50.0, 1e-4);
    EXPECT_NEAR(result.mean_nll, std::log(50.0), 1e-6);
}

TEST(PerplexityTest, TextShorterThanOneWindowIsBadInput) {
    auto m = uniform_model(10);
    EXPECT_THROW(evaluate_perplexity(*m,
                                     std::vector<int64_t>(5, 1),
                                     16,
                                     1,
                                     torch::Device(torch::kCPU),
                                     config::Precision::kFp32),
                 std::runtime_error);
}

}  // namespace
}  // namespace lowbit::eval
