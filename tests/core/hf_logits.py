"""Cross-checks Lowbit models against Hugging Face transformers (used by interop_test).

  hf_logits.py logits <model_dir> <ids.safetensors> <out.safetensors>
      Loads <model_dir> with AutoModelForCausalLM (fp32, eval) and writes the logits of the
      int64 tensor "ids" (B, T) as "logits" (B, T, V).
  hf_logits.py resave <model_dir> <out_dir>
      Loads <model_dir> with AutoModelForCausalLM and save_pretrained(safe_serialization=True)
      into <out_dir> (a round trip through transformers).
  hf_logits.py create <gpt2|llama> <out_dir> <vocab> <tie 0|1> <seed>
      Builds a randomly initialised GPT2LMHeadModel or LlamaForCausalLM (2 layers, 4 heads,
      d_model 64, context 32), save_pretrained(safe_serialization=True) into <out_dir>, and writes
      <out_dir>/reference.safetensors with fixed "ids" and HF's "logits".
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits.float().contiguous()


def cmd_logits(model_dir, ids_file, out_file):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    ids = load_file(ids_file)["ids"].to(torch.int64)
    save_file({"logits": logits_of(model, ids)}, out_file)


def cmd_resave(model_dir, out_dir):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.save_pretrained(out_dir, safe_serialization=True)


def randomise(model, seed):
    # Larger-than-default weights so that differences in the math show up in the logits.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name or "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=gen))


def cmd_create(family, out_dir, vocab, tie, seed):
    torch.manual_seed(seed)
    if family == "gpt2":
        config = GPT2Config(n_layer=2, n_head=4, n_embd=64, n_positions=32, n_inner=None,
                            vocab_size=vocab, layer_norm_epsilon=1e-5, tie_word_embeddings=tie,
                            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        model = GPT2LMHeadModel(config)
    else:
        config = LlamaConfig(hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=4,
                             max_position_embeddings=32, vocab_size=vocab, rms_norm_eps=1e-5,
                             rope_theta=500.0, tie_word_embeddings=tie)
        model = LlamaForCausalLM(config)
    randomise(model, seed)
    model.eval()
    model.save_pretrained(out_dir, safe_serialization=True)
    gen = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, vocab, (2, 32), generator=gen, dtype=torch.int64)
    save_file({"ids": ids, "logits": logits_of(model, ids)}, f"{out_dir}/reference.safetensors")


def main(argv):
    if len(argv) == 5 and argv[1] == "logits":
        cmd_logits(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "resave":
        cmd_resave(argv[2], argv[3])
    elif len(argv) == 7 and argv[1] == "create":
        cmd_create(argv[2], argv[3], int(argv[4]), argv[5] == "1", int(argv[6]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
