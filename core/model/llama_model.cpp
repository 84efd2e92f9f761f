// LlamaModelImpl and its attention / SwiGLU MLP / block modules. Initialisation: normal(0,
// init_std) for embeddings and projections, init_std/sqrt(2L) for the residual outputs (attn.o,
// mlp.down) as in GPT-2, RMSNorm weights one.
#include "lowbit/model/llama_model.h"

#include "lowbit/model/rope.h"

#include <cmath>

namespace lowbit::model {

LlamaAttentionImpl::LlamaAttentionImpl(const ModelConfig& cfg, const std::string& prefix)
    : heads_(cfg.heads), dropout_(cfg.dropout), rope_theta_(cfg.rope_theta) {
    const int64_t c = cfg.d_model;
    if (cfg.fused_qkv) {
        qkv = register_module("qkv", Linear(c, 3 * c, false, prefix + ".qkv", "qkv"));
    } else {
        q = register_module("q", Linear(c, c, false, prefix + ".q", "q"));
        k = register_module("k", Linear(c, c, false, prefix + ".k", "k"));
        v = register_module("v", Linear(c, c, false, prefix + ".v", "v"));
    }
    o = register_module("o", Linear(c, c, false, prefix + ".o", "o"));
}

std::vector<Linear> LlamaAttentionImpl::linears() const {
    if (qkv) {
        return {qkv, o};
    }
    return {q, k, v, o};
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), seq = x.size(1), channels = x.size(2);
    const int64_t head_dim = channels / heads_;
    auto to_heads = [&](const torch::Tensor& t) {
        return t.view({batch, seq, heads_, head_dim}).transpose(1, 2);  // (B, H, T, hd)
    };
    auto [cos, sin] = rope_tables(seq, head_dim, rope_theta_, x.device());  // (T, hd) each
    torch::Tensor q_out, k_out, v_out;                                      // (B, T, C) each
    if (qkv) {
        const std::vector<torch::Tensor> parts = qkv(x).split(channels, -1);
        q_out = parts[0];
        k_out = parts[1];
        v_out = parts[2];
    } else {
        q_out = q(x);
        k_out = k(x);
        v_out = v(x);
    }
    auto qh = apply_rope(to_heads(q_out), cos, sin);
    auto kh = apply_rope(to_heads(k_out), cos, sin);
    auto y = torch::scaled_dot_product_attention(qh,
                                                 kh,
                                                 to_heads(v_out),
                                                 /*attn_mask=*/{},
                                                 is_training() ? dropout_ : 0.0,
                                                 /*is_causal=*/true);  // (B, H, T, hd)
    y = y.transpose(1, 2).contiguous().view({batch, seq, channels});   // (B, T, C)
    return o(y);
}

LlamaMlpImpl::LlamaMlpImpl(const ModelConfig& cfg, const std::string& prefix) {
    if (cfg.fused_gate_up) {
        gate_up = register_module(
            "gate_up", Linear(cfg.d_model, 2 * cfg.d_ff, false, prefix + ".gate_up", "gate_up"));
    } else {
        gate =
            register_module("gate", Linear(cfg.d_model, cfg.d_ff, false, prefix + ".gate", "gate"));
        up = register_module("up", Linear(cfg.d_model, cfg.d_ff, false, prefix + ".up", "up"));
    }
    down = register_module("down", Linear(cfg.d_ff, cfg.d_model, false, prefix + ".down", "down"));
}

std::vector<Linear> LlamaMlpImpl::linears() const {
    if (gate_up) {
        return {gate_up, down};
    }
    return {gate, up, down};
}

torch::Tensor LlamaMlpImpl::forward(const torch::Tensor& x) {
    if (gate_up) {
        const std::vector<torch::Tensor> parts = gate_up(x).chunk(2, -1);  // 2 × (B, T, d_ff)
        return down(torch::silu(parts[0]) * parts[1]);
    }
    return down(torch::silu(gate(x)) * up(x));
}

LlamaBlockImpl::LlamaBlockImpl(const ModelConfig& cfg, int index) {
    const std::string prefix = "blocks." + std::to_string(index);
    norm1 = register_module("norm1", RmsNorm(cfg.d_model, cfg.norm_eps));
    attn = register_module("attn", LlamaAttention(cfg, prefix + ".attn"));
    norm2 = register_module("norm2", RmsNorm(cfg.d_model, cfg.norm_eps));
    mlp = register_module("mlp", LlamaMlp(cfg, prefix + ".mlp"));
    resid_drop = register_module("resid_drop", torch::nn::Dropout(cfg.dropout));
}

torch::Tensor LlamaBlockImpl::forward(const torch::Tensor& x) {
    auto h = x + resid_drop(attn(norm1(x)));  // (B, T, C)
    return h + resid_drop(mlp(norm2(h)));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& cfg) : LanguageModelImpl(cfg) {
    tok_emb = register_module("tok_emb", torch::nn::Embedding(cfg.vocab_size, cfg.d_model));
    emb_drop = register_module("emb_drop", torch::nn::Dropout(cfg.dropout));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < cfg.layers; ++i) {
        LlamaBlock block(cfg, i);
        blocks->push_back(block);
        for (const Linear& linear : block->attn->linears()) {
            add_linear(linear);
        }
        for (const Linear& linear : block->mlp->linears()) {
            add_linear(linear);
        }
    }
    norm_f = register_module("norm_f", RmsNorm(cfg.d_model, cfg.norm_eps));
    lm_head = register_module(
        "lm_head",
        cfg.tie_embeddings ? Linear(tok_emb->weight, "lm_head", "lm_head")
                           : Linear(cfg.d_model, cfg.vocab_size, false, "lm_head", "lm_head"));
    add_linear(lm_head);
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& ids) {
    torch::Tensor h = embed(ids);  // (B, T, C)
    for (int64_t i = 0; i < block_count(); ++i) {
        h = block_forward(i, h);
    }
    return head(h);  // (B, T, V)
}

torch::Tensor LlamaModelImpl::embed(const torch::Tensor& ids) {
    check_ids(ids);
    return emb_drop(tok_emb(ids));  // (B, T, C)
}

int64_t LlamaModelImpl::block_count() const {
    return static_cast<int64_t>(blocks->size());
}

std::shared_ptr<torch::nn::Module> LlamaModelImpl::block(int64_t index) const {
    TORCH_CHECK(index >= 0 && index < block_count(), "block: no block ", index);
    return blocks->ptr(static_cast<size_t>(index));
}

torch::Tensor LlamaModelImpl::block_forward(int64_t index, const torch::Tensor& h) {
    return block(index)->as<LlamaBlockImpl>()->forward(h);
}

torch::Tensor LlamaModelImpl::head(const torch::Tensor& h) {
    return lm_head(norm_f(h)).to(torch::kFloat32);  // (B, T, V)
}

void LlamaModelImpl::reset_parameters(uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    const double init_std = config_.init_std;
    const double resid_std = init_std / std::sqrt(2.0 * config_.layers);
    torch::NoGradGuard no_grad;
    for (auto& item : named_parameters()) {
        const std::string& name = item.key();
        auto& param = item.value();
        if (name.find("norm") != std::string::npos) {
            param.fill_(1.0);
        } else if (name.ends_with("attn.o.weight") || name.ends_with("mlp.down.weight")) {
            init_normal(param, resid_std, gen);
        } else {
            init_normal(param, init_std, gen);
        }
    }
}

}  // namespace lowbit::model
