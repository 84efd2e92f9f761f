// Gpt2ModelImpl and its attention / MLP / block modules; initialisation follows GPT-2:
// normal(0, init_std), residual output projections (attn.out, mlp.fc2) with init_std/sqrt(2L).
#include "lowbit/model/gpt2_model.h"

#include <cmath>

namespace lowbit::model {

namespace {

torch::nn::LayerNorm make_layer_norm(const ModelConfig& cfg) {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({cfg.d_model}).eps(cfg.norm_eps).elementwise_affine(true));
}

}  // namespace

torch::Tensor gelu_tanh(const torch::Tensor& x) {
    return torch::gelu(x, "tanh");
}

Gpt2AttentionImpl::Gpt2AttentionImpl(const ModelConfig& cfg, const std::string& prefix)
    : heads_(cfg.heads), dropout_(cfg.dropout) {
    qkv =
        register_module("qkv", Linear(cfg.d_model, 3 * cfg.d_model, true, prefix + ".qkv", "qkv"));
    out =
        register_module("out", Linear(cfg.d_model, cfg.d_model, true, prefix + ".out", "attn_out"));
}

torch::Tensor Gpt2AttentionImpl::forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), seq = x.size(1), channels = x.size(2);
    const int64_t head_dim = channels / heads_;
    auto parts = qkv(x).split(channels, -1);  // 3 × (B, T, C)
    auto to_heads = [&](const torch::Tensor& t) {
        return t.view({batch, seq, heads_, head_dim}).transpose(1, 2);  // (B, H, T, hd)
    };
    auto y = torch::scaled_dot_product_attention(to_heads(parts[0]),
                                                 to_heads(parts[1]),
                                                 to_heads(parts[2]),
                                                 /*attn_mask=*/{},
                                                 is_training() ? dropout_ : 0.0,
                                                 /*is_causal=*/true);  // (B, H, T, hd)
    y = y.transpose(1, 2).contiguous().view({batch, seq, channels});   // (B, T, C)
    return out(y);
}

Gpt2MlpImpl::Gpt2MlpImpl(const ModelConfig& cfg, const std::string& prefix) {
    fc1 = register_module("fc1", Linear(cfg.d_model, cfg.d_ff, true, prefix + ".fc1", "fc1"));
    fc2 = register_module("fc2", Linear(cfg.d_ff, cfg.d_model, true, prefix + ".fc2", "fc2"));
}

torch::Tensor Gpt2MlpImpl::forward(const torch::Tensor& x) {
    return fc2(gelu_tanh(fc1(x)));
}

Gpt2BlockImpl::Gpt2BlockImpl(const ModelConfig& cfg, int index) {
    const std::string prefix = "blocks." + std::to_string(index);
    ln1 = register_module("ln1", make_layer_norm(cfg));
    attn = register_module("attn", Gpt2Attention(cfg, prefix + ".attn"));
    ln2 = register_module("ln2", make_layer_norm(cfg));
    mlp = register_module("mlp", Gpt2Mlp(cfg, prefix + ".mlp"));
    resid_drop = register_module("resid_drop", torch::nn::Dropout(cfg.dropout));
}

torch::Tensor Gpt2BlockImpl::forward(const torch::Tensor& x) {
    auto h = x + resid_drop(attn(ln1(x)));  // (B, T, C)
    return h + resid_drop(mlp(ln2(h)));
}

Gpt2ModelImpl::Gpt2ModelImpl(const ModelConfig& cfg) : LanguageModelImpl(cfg) {
    tok_emb = register_module("tok_emb", torch::nn::Embedding(cfg.vocab_size, cfg.d_model));
    pos_emb = register_module("pos_emb", torch::nn::Embedding(cfg.context, cfg.d_model));
    emb_drop = register_module("emb_drop", torch::nn::Dropout(cfg.dropout));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < cfg.layers; ++i) {
        Gpt2Block block(cfg, i);
        blocks->push_back(block);
        add_linear(block->attn->qkv);
        add_linear(block->attn->out);
        add_linear(block->mlp->fc1);
        add_linear(block->mlp->fc2);
    }
    ln_f = register_module("ln_f", make_layer_norm(cfg));
    // GPT-2's head has no bias (HF GPT2LMHeadModel), tied or not.
    lm_head = register_module(
        "lm_head",
        cfg.tie_embeddings ? Linear(tok_emb->weight, "lm_head", "lm_head")
                           : Linear(cfg.d_model, cfg.vocab_size, false, "lm_head", "lm_head"));
    add_linear(lm_head);
}

torch::Tensor Gpt2ModelImpl::forward(const torch::Tensor& ids) {
    torch::Tensor h = embed(ids);  // (B, T, C)
    for (int64_t i = 0; i < block_count(); ++i) {
        h = block_forward(i, h);
    }
    return head(h);  // (B, T, V)
}

torch::Tensor Gpt2ModelImpl::embed(const torch::Tensor& ids) {
    check_ids(ids);
    auto positions = torch::arange(ids.size(1), ids.options());  // (T)
    return emb_drop(tok_emb(ids) + pos_emb(positions));          // (B, T, C)
}

int64_t Gpt2ModelImpl::block_count() const {
    return static_cast<int64_t>(blocks->size());
}

std::shared_ptr<torch::nn::Module> Gpt2ModelImpl::block(int64_t index) const {
    TORCH_CHECK(index >= 0 && index < block_count(), "block: no block ", index);
    return blocks->ptr(static_cast<size_t>(index));
}

torch::Tensor Gpt2ModelImpl::block_forward(int64_t index, const torch::Tensor& h) {
    return block(index)->as<Gpt2BlockImpl>()->forward(h);
}

torch::Tensor Gpt2ModelImpl::head(const torch::Tensor& h) {
    return lm_head(ln_f(h)).to(torch::kFloat32);  // (B, T, V)
}

void Gpt2ModelImpl::reset_parameters(uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    const double init_std = config_.init_std;
    const double resid_std = init_std / std::sqrt(2.0 * config_.layers);
    torch::NoGradGuard no_grad;
    // Fixed order (named_parameters is registration order), so the draw sequence is stable.
    for (auto& item : named_parameters()) {
        const std::string& name = item.key();
        auto& param = item.value();
        const bool is_norm = name.starts_with("ln_f.") || name.find(".ln") != std::string::npos;
        if (name.ends_with(".bias")) {
            param.zero_();
        } else if (is_norm) {
            param.fill_(1.0);
        } else if (name.ends_with("attn.out.weight") || name.ends_with("mlp.fc2.weight")) {
            init_normal(param, resid_std, gen);
        } else {
            init_normal(param, init_std, gen);
        }
    }
}

}  // namespace lowbit::model
