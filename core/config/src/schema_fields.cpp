// The recipe schema table: every key with its accessor, range and doc string, in document order.
// To add a section (quant:, telemetry:), add a SectionSpec row and its field rows here; parsing,
// validation, JSON, the commented defaults and the GUI form follow from the table.
#include "lowbit/config/recipe_schema.h"

#include "schema_rows.h"

namespace lowbit::config {
namespace {

using detail::above;
using detail::at_least;
using detail::closed;
using detail::field;
using detail::half_open;
using detail::non_empty;
using detail::open_closed;
using detail::path;

std::vector<FieldSpec> build_fields() {
    constexpr double kMaxVocab = 1 << 24;
    std::vector<FieldSpec> f;
    f.push_back(field(
        "name", LOWBIT_REF(name), "Run name shown in the GUI and `lowbit runs`", non_empty()));
    f.push_back(field("seed", LOWBIT_REF(seed), "Seed of initialisation, data order and dropout"));

    f.push_back(field("model.family",
                      LOWBIT_REF(model.family),
                      "Decoder: GPT-2 (LayerNorm, GELU, learned positions) or Llama "
                      "(RMSNorm, SwiGLU, RoPE)"));
    f.push_back(field(
        "model.layers", LOWBIT_REF(model.layers), "Number of Transformer blocks", closed(1, 1024)));
    f.push_back(field("model.heads",
                      LOWBIT_REF(model.heads),
                      "Attention heads per block; d_model must be divisible by it",
                      closed(1, 1024)));
    f.push_back(field(
        "model.d_model", LOWBIT_REF(model.d_model), "Residual stream width", closed(1, 65536)));
    f.push_back(field("model.d_ff",
                      LOWBIT_REF(model.d_ff),
                      "Feed-forward width; 0 = family default (GPT-2: 4*d_model, Llama: "
                      "8/3*d_model rounded up to 32)",
                      closed(0, 1 << 20)));
    f.push_back(field("model.context",
                      LOWBIT_REF(model.context),
                      "Sequence length in tokens",
                      closed(2, 1 << 20)));
    f.push_back(field("model.dropout",
                      LOWBIT_REF(model.dropout),
                      "Dropout probability of attention and MLP outputs",
                      half_open(0, 1)));
    f.push_back(field("model.tie_embeddings",
                      LOWBIT_REF(model.tie_embeddings),
                      "Share the token embedding with the output projection"));
    f.push_back(field("model.vocab_size",
                      LOWBIT_REF(model.vocab_size),
                      "Embedding rows; 0 = the tokenizer's vocabulary, larger values pad",
                      closed(0, kMaxVocab)));
    f.push_back(field(
        "model.norm_eps", LOWBIT_REF(model.norm_eps), "Epsilon of LayerNorm / RMSNorm", above(0)));
    f.push_back(field("model.rope_theta",
                      LOWBIT_REF(model.rope_theta),
                      "RoPE base frequency (Llama only)",
                      above(0)));
    f.push_back(field("model.init_std",
                      LOWBIT_REF(model.init_std),
                      "Standard deviation of the normal weight initialisation",
                      above(0)));
    f.push_back(field("model.fused_qkv",
                      LOWBIT_REF(model.fused_qkv),
                      "Llama only: one fused q|k|v linear (role qkv), as flash-attn's GPT layout"));
    f.push_back(field("model.fused_gate_up",
                      LOWBIT_REF(model.fused_gate_up),
                      "Llama only: one fused gate|up linear (role gate_up)"));

    f.push_back(
        field("data.train",
              LOWBIT_REF(data.train),
              "Training corpus: files or folders (relative to this recipe), or builtin:markov",
              path(true)));
    f.push_back(field("data.val",
                      LOWBIT_REF(data.val),
                      "Separate validation corpus; empty = split val_fraction off the end of train",
                      path(false)));
    f.push_back(field("data.format",
                      LOWBIT_REF(data.format),
                      "Corpus format; auto = by file extension (.txt, .jsonl, .bin)"));
    f.push_back(field("data.tokenizer",
                      LOWBIT_REF(data.tokenizer),
                      "Tokenizer: raw bytes (256 ids) or a SentencePiece model"));
    f.push_back(field("data.sentencepiece_type",
                      LOWBIT_REF(data.sentencepiece_type),
                      "SentencePiece algorithm when one is trained"));
    f.push_back(field("data.tokenizer_model",
                      LOWBIT_REF(data.tokenizer_model),
                      "Existing SentencePiece tokenizer.model to load instead of training one",
                      path(false)));
    f.push_back(field("data.vocab_size",
                      LOWBIT_REF(data.vocab_size),
                      "SentencePiece vocabulary to train (the byte tokenizer always has 256)",
                      closed(1, kMaxVocab)));
    f.push_back(field("data.val_fraction",
                      LOWBIT_REF(data.val_fraction),
                      "Fraction of the train corpus held out for validation when data.val is empty",
                      open_closed(0, 0.5)));
    f.push_back(field("data.markov.words",
                      LOWBIT_REF(data.markov.words),
                      "Size of the synthetic word list",
                      closed(2, 100000)));
    f.push_back(field("data.markov.successors",
                      LOWBIT_REF(data.markov.successors),
                      "Non-zero transitions out of each word (at most words)",
                      closed(1, 100000)));
    f.push_back(field("data.markov.concentration",
                      LOWBIT_REF(data.markov.concentration),
                      "Dirichlet concentration of the transition probabilities",
                      above(0)));
    f.push_back(field("data.markov.tokens",
                      LOWBIT_REF(data.markov.tokens),
                      "Length of the generated text in characters (bytes)",
                      closed(1, 1e12)));
    f.push_back(field("data.markov.seed",
                      LOWBIT_REF(data.markov.seed),
                      "Seed of the source itself (independent of the run seed)"));

    f.push_back(field("train.steps", LOWBIT_REF(train.steps), "Optimizer steps", at_least(1)));
    f.push_back(field("train.batch_size",
                      LOWBIT_REF(train.batch_size),
                      "Sequences per micro-batch",
                      at_least(1)));
    f.push_back(field("train.grad_accum",
                      LOWBIT_REF(train.grad_accum),
                      "Micro-batches accumulated per optimizer step",
                      at_least(1)));
    f.push_back(field("train.rows_per_pass",
                      LOWBIT_REF(train.rows_per_pass),
                      "Rows per forward and backward pass, gradients summed; 0 = all at once",
                      at_least(0)));
    f.push_back(field("train.lr", LOWBIT_REF(train.lr), "Peak learning rate", above(0)));
    f.push_back(field("train.min_lr",
                      LOWBIT_REF(train.min_lr),
                      "Learning rate at the end of the decay; at most lr",
                      at_least(0)));
    f.push_back(field("train.warmup_steps",
                      LOWBIT_REF(train.warmup_steps),
                      "Linear warm-up steps from 0 to lr; at most steps",
                      at_least(0)));
    f.push_back(field(
        "train.schedule", LOWBIT_REF(train.schedule), "Decay from lr to min_lr after warm-up"));
    f.push_back(field("train.weight_decay",
                      LOWBIT_REF(train.weight_decay),
                      "AdamW decoupled weight decay of matrices",
                      at_least(0)));
    f.push_back(
        field("train.betas", LOWBIT_REF(train.betas), "AdamW [beta1, beta2]", half_open(0, 1)));
    f.push_back(field("train.eps", LOWBIT_REF(train.eps), "AdamW epsilon", above(0)));
    f.push_back(field("train.grad_clip",
                      LOWBIT_REF(train.grad_clip),
                      "Clip the global gradient norm to this; 0 disables",
                      at_least(0)));
    f.push_back(field("train.precision",
                      LOWBIT_REF(train.precision),
                      "Compute precision of the forward and backward pass"));
    f.push_back(field("train.eval_every",
                      LOWBIT_REF(train.eval_every),
                      "Validation loss every this many steps",
                      at_least(1)));
    f.push_back(field("train.eval_batches",
                      LOWBIT_REF(train.eval_batches),
                      "Batches averaged per validation",
                      at_least(1)));
    f.push_back(field("train.checkpoint_every",
                      LOWBIT_REF(train.checkpoint_every),
                      "Checkpoint every this many steps (and at the end)",
                      at_least(1)));
    f.push_back(field("train.log_every",
                      LOWBIT_REF(train.log_every),
                      "Record scalars every this many steps",
                      at_least(1)));
    f.push_back(field(
        "train.device", LOWBIT_REF(train.device), "Device; auto = CUDA when available, else CPU"));
    f.push_back(field("train.threads",
                      LOWBIT_REF(train.threads),
                      "CPU intra-op threads; 0 = LibTorch's default",
                      closed(0, 4096)));

    detail::add_quant_fields(f);  // the YAML emitter writes quant.overrides last in quant:
    detail::add_telemetry_fields(f);
    f.push_back(field("distributed.gradient_allreduce",
                      LOWBIT_REF(distributed.gradient_allreduce),
                      "Gradients between ranks: fp32 (exact mean), bf16, or int8 codes with "
                      "block scales"));
    f.push_back(field("distributed.error_feedback",
                      LOWBIT_REF(distributed.error_feedback),
                      "bf16/int8: add what the encoding dropped to the next step's gradient"));
    f.push_back(
        field("distributed.shard_optimizer_states",
              LOWBIT_REF(distributed.shard_optimizer_states),
              "Each rank keeps the optimizer state of its share of the parameters (ZeRO-1)"));
    detail::add_qat_fields(f);
    return f;
}

#undef LOWBIT_REF

}  // namespace

std::span<const FieldSpec> recipe_fields() {
    static const std::vector<FieldSpec> kFields = build_fields();
    return kFields;
}

std::span<const SectionSpec> recipe_sections() {
    static const std::vector<SectionSpec> kSections = {
        {"model", "Decoder-only Transformer shape"},
        {"data", "Corpus, tokenizer and validation split"},
        {"data.markov", "Built-in English-like Markov corpus (data.train: builtin:markov)"},
        {"train", "Optimisation: AdamW, learning-rate schedule, evaluation and checkpoints"},
        {"quant", "Quantized pretraining: fake-quantized linears and AdamW states (bits 32 = off)"},
        {"quant.weight", "W of each linear in scope"},
        {"quant.activation", "Input X of each linear, flattened to [B*T, in]"},
        {"quant.grad_output", "Output gradient dL/dY of each linear, [B*T, out]"},
        {"quant.optim_m", "AdamW first moment of each quantized weight"},
        {"quant.optim_v", "AdamW second moment of each quantized weight"},
        {"telemetry", "Per-layer quantization statistics and histograms of the quantized linears"},
        {"distributed", "Data-parallel jobs (several ranks): gradient exchange, sharded state"},
        {"qat", "EfficientQAT (lowbit qat): a trained model to packed low-bit weights"},
        {"qat.block_ap",
         "Block-AP: one block at a time, weights and quantizers against FP outputs"},
        {"qat.e2e_qp", "E2E-QP: only the quantization steps, end to end on next-token loss"},
        {"qat.gptq", "The GPTQ baseline (qat.method: gptq)"},
    };
    return kSections;
}

const FieldSpec* find_field(std::string_view path) {
    for (const FieldSpec& f : recipe_fields()) {
        if (f.path == path) {
            return &f;
        }
    }
    return nullptr;
}

const SectionSpec* find_section(std::string_view path) {
    for (const SectionSpec& s : recipe_sections()) {
        if (s.path == path) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace lowbit::config
