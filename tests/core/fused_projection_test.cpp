// Fused Llama projections (docs/quantized-pretraining.md §Fused projections): a model with
// attn.qkv and mlp.gate_up holding the unfused model's q, k, v and gate, up weights as row blocks
// gives the same logits and the same gradients (fp32; the fused GEMM may accumulate in another
// order than three separate ones, hence a 1e-6 relative bound instead of bit equality).
#include "lowbit/model/language_model.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

namespace lowbit::model {
namespace {

constexpr double kRelTol = 1e-6;

ModelConfig llama(bool fused, bool tie) {
    ModelConfig c;
    c.family = config::ModelFamily::kLlama;
    c.layers = 2;
    c.heads = 4;
    c.d_model = 32;
    c.d_ff = 96;
    c.context = 16;
    c.vocab_size = 70;
    c.tie_embeddings = tie;
    c.fused_qkv = fused;
    c.fused_gate_up = fused;
    return c;
}

std::map<std::string, torch::Tensor> params_of(LanguageModelImpl& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& item : m.named_parameters()) {
        out.emplace(item.key(), item.value());
    }
    return out;
}

// The fused model's name of an unfused parameter and its row block (q, k, v -> qkv blocks 0..2,
// gate, up -> gate_up blocks 0..1), or the same name and block -1.
std::pair<std::string, int> fused_name(const std::string& name) {
    const struct {
        const char* part;
        const char* fused;
        int block;
    } blocks[] = {{".attn.q.", ".attn.qkv.", 0},
                  {".attn.k.", ".attn.qkv.", 1},
                  {".attn.v.", ".attn.qkv.", 2},
                  {".mlp.gate.", ".mlp.gate_up.", 0},
                  {".mlp.up.", ".mlp.gate_up.", 1}};

    for (const auto& m : blocks) {
        if (const auto at = name.find(m.part); at != std::string::npos) {
            return {name.substr(0, at) + m.fused + name.substr(at + std::string(m.part).size()),
                    m.block};
        }
    }
    return {name, -1};
}

double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>() / std::max(b.abs().max().item<double>(), 1e-30);
}

TEST(FusedProjections, SameWeightsGiveSameLogitsAndGradients) {
    for (const bool tie : {false, true}) {
        auto plain = create_model(llama(false, tie), 5);
        auto fused = create_model(llama(true, tie), 6);  // other init, overwritten below
        auto gen = torch::make_generator<at::CPUGeneratorImpl>(9);
        std::map<std::string, torch::Tensor> plain_params = params_of(*plain);
        std::map<std::string, torch::Tensor> fused_params = params_of(*fused);
        {
            torch::NoGradGuard no_grad;
            for (auto& [name, p] : plain_params) {
                const double offset = name.find("norm") != std::string::npos ? 1.0 : 0.0;
                p.copy_(torch::randn(p.sizes(), gen) * 0.1 + offset);
                const auto [fused_key, block] = fused_name(name);
                ASSERT_TRUE(fused_params.contains(fused_key)) << name;
                torch::Tensor target = fused_params.at(fused_key);
                if (block >= 0) {
                    target = target.narrow(0, block * p.size(0), p.size(0));
                }
                ASSERT_EQ(target.sizes(), p.sizes()) << name;
                target.copy_(p);
            }
        }
        // Every fused parameter was written: per block the five q, k, v, gate, up became the two
        // qkv, gate_up (2 blocks).
        EXPECT_EQ(fused_params.size() + 3 * 2, plain_params.size());

        const torch::Tensor ids = torch::randint(0, 70, {3, 16}, gen);
        const torch::Tensor weights = torch::randn({3, 16, 70}, gen);
        const torch::Tensor plain_logits = plain->forward(ids);
        const torch::Tensor fused_logits = fused->forward(ids);
        EXPECT_LE(rel_diff(fused_logits, plain_logits), kRelTol) << "tie " << tie;
        EXPECT_GT(plain_logits.abs().max().item<double>(), 0.1);
        (plain_logits * weights).sum().backward();
        (fused_logits * weights).sum().backward();
        for (const auto& [name, p] : plain_params) {
            const auto [fused_key, block] = fused_name(name);
            torch::Tensor g = fused_params.at(fused_key).grad();
            ASSERT_TRUE(g.defined() && p.grad().defined()) << name;
            if (block >= 0) {
                g = g.narrow(0, block * p.size(0), p.size(0));
            }
            EXPECT_LE(rel_diff(g, p.grad()), kRelTol) << name << " tie " << tie;
        }
    }
}

}  // namespace
}  // namespace lowbit::model
