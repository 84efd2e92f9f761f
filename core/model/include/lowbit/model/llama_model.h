// Llama family decoder: token embedding, pre-RMSNorm blocks (causal self-attention with separate
// bias-free q, k, v, o and RoPE; SwiGLU MLP gate/up/down), final RMSNorm, lm_head (untied unless
// tie_embeddings). Parameter names: tok_emb, blocks.N.{norm1,attn.{q,k,v,o},norm2,
// mlp.{gate,up,down}}, norm_f, lm_head; with fused_qkv attn.qkv (rows q | k | v) replaces
// attn.{q,k,v}, with fused_gate_up mlp.gate_up (rows gate | up) replaces mlp.{gate,up}
// (docs/quantized-pretraining.md §Fused projections).
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/model/linear.h"
#include "lowbit/model/norms.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lowbit::model {

class LlamaAttentionImpl : public torch::nn::Module {
public:
    LlamaAttentionImpl(const ModelConfig& cfg, const std::string& prefix);

    // x (B, T, C) -> (B, T, C), causal, RoPE on q and k.
    torch::Tensor forward(const torch::Tensor& x);

    // The projections in forward order (qkv or q, k, v; then o).
    std::vector<Linear> linears() const;

    Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};  // each C -> C, no bias
    Linear qkv{nullptr};  // C -> 3C (q | k | v) instead of q, k, v when fused_qkv

private:
    int64_t heads_;
    double dropout_;
    double rope_theta_;
};

TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module {
public:
    LlamaMlpImpl(const ModelConfig& cfg, const std::string& prefix);

    // x (B, T, C) -> down(silu(gate(x)) · up(x)) (B, T, C).
    torch::Tensor forward(const torch::Tensor& x);

    Linear gate{nullptr};     // C -> d_ff
    Linear up{nullptr};       // C -> d_ff
    Linear gate_up{nullptr};  // C -> 2·d_ff (gate | up) instead of gate, up when fused_gate_up
    Linear down{nullptr};     // d_ff -> C

    // The projections in forward order (gate_up or gate, up; then down).
    std::vector<Linear> linears() const;
};

TORCH_MODULE(LlamaMlp);

class LlamaBlockImpl : public torch::nn::Module {
public:
    LlamaBlockImpl(const ModelConfig& cfg, int index);

    // x + drop(attn(norm1(x))), then + drop(mlp(norm2(x))). (B, T, C).
    torch::Tensor forward(const torch::Tensor& x);

    RmsNorm norm1{nullptr};
    LlamaAttention attn{nullptr};
    RmsNorm norm2{nullptr};
    LlamaMlp mlp{nullptr};
    torch::nn::Dropout resid_drop{nullptr};
};

TORCH_MODULE(LlamaBlock);

class LlamaModelImpl : public LanguageModelImpl {
public:
    explicit LlamaModelImpl(const ModelConfig& cfg);

    torch::Tensor forward(const torch::Tensor& ids) override;
    void reset_parameters(uint64_t seed) override;
    torch::Tensor embed(const torch::Tensor& ids) override;
    int64_t block_count() const override;
    std::shared_ptr<torch::nn::Module> block(int64_t index) const override;
    torch::Tensor block_forward(int64_t index, const torch::Tensor& h) override;
    torch::Tensor head(const torch::Tensor& h) override;

    torch::nn::Embedding tok_emb{nullptr};  // (V, C)
    torch::nn::Dropout emb_drop{nullptr};
    torch::nn::ModuleList blocks{nullptr};  // of LlamaBlock
    RmsNorm norm_f{nullptr};
    Linear lm_head{nullptr};  // C -> V, no bias; shares tok_emb.weight when tied
};

TORCH_MODULE(LlamaModel);

}  // namespace lowbit::model
