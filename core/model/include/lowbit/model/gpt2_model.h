// GPT-2 family decoder: token + learned position embeddings, pre-LN blocks (causal self-attention
// with a fused q|k|v Linear, GELU-tanh MLP), final LayerNorm and an lm_head optionally tied to
// the token embedding. Parameter names: tok_emb, pos_emb, blocks.N.{ln1,attn.qkv,attn.out,ln2,
// mlp.fc1,mlp.fc2}, ln_f, lm_head.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/model/linear.h"

#include <torch/torch.h>

#include <string>

namespace lowbit::model {

class Gpt2AttentionImpl : public torch::nn::Module {
public:
    Gpt2AttentionImpl(const ModelConfig& cfg, const std::string& prefix);

    // x (B, T, C) -> (B, T, C), causal.
    torch::Tensor forward(const torch::Tensor& x);

    Linear qkv{nullptr};  // C -> 3C, column blocks q | k | v
    Linear out{nullptr};  // C -> C

private:
    int64_t heads_;
    double dropout_;
};

TORCH_MODULE(Gpt2Attention);

class Gpt2MlpImpl : public torch::nn::Module {
public:
    Gpt2MlpImpl(const ModelConfig& cfg, const std::string& prefix);

    // x (B, T, C) -> fc2(gelu_tanh(fc1(x))) (B, T, C).
    torch::Tensor forward(const torch::Tensor& x);

    Linear fc1{nullptr};  // C -> d_ff
    Linear fc2{nullptr};  // d_ff -> C
};

TORCH_MODULE(Gpt2Mlp);

class Gpt2BlockImpl : public torch::nn::Module {
public:
    Gpt2BlockImpl(const ModelConfig& cfg, int index);

    // Pre-LN residual block: x + drop(attn(ln1(x))), then + drop(mlp(ln2(x))). (B, T, C).
    torch::Tensor forward(const torch::Tensor& x);

    torch::nn::LayerNorm ln1{nullptr};
    Gpt2Attention attn{nullptr};
    torch::nn::LayerNorm ln2{nullptr};
    Gpt2Mlp mlp{nullptr};
    torch::nn::Dropout resid_drop{nullptr};
};

TORCH_MODULE(Gpt2Block);

class Gpt2ModelImpl : public LanguageModelImpl {
public:
    explicit Gpt2ModelImpl(const ModelConfig& cfg);

    torch::Tensor forward(const torch::Tensor& ids) override;
    void reset_parameters(uint64_t seed) override;
    torch::Tensor embed(const torch::Tensor& ids) override;
    int64_t block_count() const override;
    std::shared_ptr<torch::nn::Module> block(int64_t index) const override;
    torch::Tensor block_forward(int64_t index, const torch::Tensor& h) override;
    torch::Tensor head(const torch::Tensor& h) override;

    torch::nn::Embedding tok_emb{nullptr};  // (V, C)
    torch::nn::Embedding pos_emb{nullptr};  // (context, C)
    torch::nn::Dropout emb_drop{nullptr};
    torch::nn::ModuleList blocks{nullptr};  // of Gpt2Block
    torch::nn::LayerNorm ln_f{nullptr};
    Linear lm_head{nullptr};  // C -> V, no bias; shares tok_emb.weight when tied
};

TORCH_MODULE(Gpt2Model);

// GELU with the tanh approximation (HF "gelu_new"):
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))).
torch::Tensor gelu_tanh(const torch::Tensor& x);

}  // namespace lowbit::model
