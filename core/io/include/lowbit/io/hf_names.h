// The name map between our parameters and Hugging Face's (GPT2LMHeadModel, LlamaForCausalLM),
// shared by export and import so the two directions cannot drift apart.
#pragma once

#include "lowbit/model/model_config.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::io {

struct HfTensorName {
    std::string ours;  // "blocks.0.attn.qkv.weight"
    std::string hf;    // "transformer.h.0.attn.c_attn.weight"
    // HF GPT-2's Conv1D stores weights (in, out): the transpose of our Linear's (out, in).
    bool transpose = false;
    // The HF tensor is rows [row_begin, row_begin + rows) of ours (a fused Llama projection
    // exports its q, k, v or gate, up blocks as HF's separate tensors); rows < 0: all of ours.
    std::int64_t row_begin = 0;
    std::int64_t rows = -1;
};

// Our tensor's part that `name` maps (its row block, or the whole tensor).
inline torch::Tensor hf_part_of(const torch::Tensor& ours, const HfTensorName& name) {
    return name.rows < 0 ? ours : ours.narrow(0, name.row_begin, name.rows);
}

// Every tensor of a model of this config, in our registration order. lm_head.weight is listed
// only when the head is untied (HF then stores it; tied heads reuse the embedding). A fused
// Llama's attn.qkv and mlp.gate_up appear once per HF tensor they hold, each with its rows.
std::vector<HfTensorName> hf_tensor_names(const model::ModelConfig& cfg);

// HF tensors that GPT-2 checkpoints may carry but that are not parameters (the causal-mask
// buffers attn.bias and attn.masked_bias of old transformers versions).
bool is_ignored_hf_tensor(const model::ModelConfig& cfg, const std::string& hf_name);

}  // namespace lowbit::io
