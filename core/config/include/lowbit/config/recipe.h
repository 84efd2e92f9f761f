// Recipe: the validated, fully defaulted description of one run (model, data, optimisation).
// Plain structs with no LibTorch or Qt types, so the engine, the GUI and the store all share them.
// Parsing, validation and (de)serialisation live in recipe_yaml.h / recipe_json.h.
#pragma once

#include "lowbit/kernels/quant_format.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::config {

enum class ModelFamily { kGpt2, kLlama };
enum class DataFormat { kAuto, kText, kJsonl, kTokens };
enum class TokenizerKind { kByte, kSentencePiece };
enum class SentencePieceType { kBpe, kUnigram };
enum class Schedule { kCosine, kLinear, kConstant };
enum class Precision { kFp32, kBf16 };
enum class DeviceChoice { kAuto, kCpu, kCuda };
// Quantized pretraining. The quantizer vocabulary (granularity, grid, rounding, second-moment
// mapping) is the kernels' format table, kernels/quant_format.h (docs/quantized-pretraining.md
// §Format table): its names are the recipe's, its allowed uses the recipe's rules, so a recipe
// spec reaches the kernels with no translation.
using kernels::Granularity;
using kernels::QuantGrid;
using kernels::Rounding;
using kernels::SecondMomentMapping;
// paper: dX = G·W, dW = Q(G)ᵀ·X; switchback: dX = Q(G)·W, dW = Gᵀ·X; both: Q(G) in both GEMMs;
// ste: straight-through estimator on the quantized operands: dX = Ĝ·Q(W), dW = Ĝᵀ·Q(X), with
// Ĝ = Q(G) in both GEMMs (= G when grad_output is off).
enum class BackwardMode { kPaper, kSwitchback, kBoth, kSte };
// The dtype the W, A and G quantizers compute in (docs/quantized-pretraining.md §Quantizer
// arithmetic): fp32 (a bf16 X or G is quantized in float32 and rounded back once); input: each
// tensor in its own dtype, as the reference code's quantizers do under bf16 autocast (bf16 X and
// G in bf16, the float32 W in float32).
enum class QuantArithmetic { kFp32, kInput };
// The forward GEMM of a quantized linear (docs/quantized-pretraining.md §Int8 forward GEMM):
// fake_quant multiplies the dequantized Q_A(X)·Q_W(W)ᵀ in floating point; int8 multiplies their
// integer codes into int32 sums and rescales each by s_A(token)·s_W(channel).
enum class ForwardGemm { kFakeQuant, kInt8 };

struct ModelSpec {
    ModelFamily family = ModelFamily::kGpt2;
    int layers = 4;
    int heads = 4;
    int d_model = 128;
    // 0 means the family default: 4·d_model for GPT-2; for Llama 8/3·d_model rounded up to a
    // multiple of 32 (the SwiGLU convention that keeps the parameter count of a 4x MLP).
    int d_ff = 0;
    // The built-in default trains on builtin:markov; a long context amortises the few characters
    // at the start of each window that no model can predict, so the loss can approach the
    // source's entropy rate (measured: 6% above it after 2000 steps; 28% with context 64).
    int context = 512;
    double dropout = 0.0;
    bool tie_embeddings = true;
    // 0 means "take it from the tokenizer"; a larger value pads the embedding table.
    int vocab_size = 0;
    double norm_eps = 1e-5;
    double rope_theta = 10000.0;  // Llama only
    double init_std = 0.02;
    // Llama only: one fused (3·d_model, d_model) q|k|v linear and one fused (2·d_ff, d_model)
    // gate|up linear, as flash-attn's GPT layout the reference code uses, so a per-tensor or
    // per-token scale covers the same block of outputs there (docs/quantized-pretraining.md §Fused
    // projections). GPT-2's qkv is always fused.
    bool fused_qkv = false;
    bool fused_gate_up = false;

    bool operator==(const ModelSpec&) const = default;
};

// The built-in generator of an English-like corpus from a sparse first-order Markov source over
// synthetic words. Its exact entropy rate is recorded with the run as the loss floor.
struct MarkovSpec {
    int words = 48;              // size of the synthetic word list
    int successors = 6;          // non-zero transitions out of each word (sparsity)
    double concentration = 1.0;  // Dirichlet concentration of transition probabilities
    int64_t tokens = 2'000'000;  // length of the generated text in characters (bytes)
    uint64_t seed = 7;           // seed of the source itself (independent of the run seed)

    bool operator==(const MarkovSpec&) const = default;
};

struct DataSpec {
    // Paths (files or folders) or the single entry "builtin:markov".
    std::vector<std::string> train = {"builtin:markov"};
    // Optional separate validation source; empty: split val_fraction off the end of train.
    std::vector<std::string> val;
    DataFormat format = DataFormat::kAuto;
    TokenizerKind tokenizer = TokenizerKind::kByte;
    SentencePieceType sentencepiece_type = SentencePieceType::kBpe;
    std::string tokenizer_model;  // existing tokenizer.model to load instead of training one
    int vocab_size = 4096;        // SentencePiece vocabulary to train (byte tokenizer: fixed 256)
    double val_fraction = 0.1;
    MarkovSpec markov;

    bool operator==(const DataSpec&) const = default;
};

struct TrainSpec {
    int64_t steps = 2000;
    int batch_size = 4;
    int grad_accum = 1;
    // Rows per forward and backward pass (docs/training.md §Passes); 0 = each rank's whole share
    // of the batch in one pass.
    int rows_per_pass = 0;
    double lr = 3e-3;
    double min_lr = 3e-4;
    int64_t warmup_steps = 100;
    Schedule schedule = Schedule::kCosine;
    double weight_decay = 0.1;
    std::array<double, 2> betas = {0.9, 0.99};
    double eps = 1e-8;
    double grad_clip = 1.0;  // 0 disables clipping
    Precision precision = Precision::kFp32;
    int64_t eval_every = 250;
    int eval_batches = 20;
    int64_t checkpoint_every = 500;
    int64_t log_every = 1;  // scalars are recorded every log_every steps
    DeviceChoice device = DeviceChoice::kAuto;
    int threads = 0;  // CPU intra-op threads; 0 = LibTorch's default

    bool operator==(const TrainSpec&) const = default;
};

// One fake quantizer. bits 16 or 32 means off (the tensor stays in full precision).
struct QuantizerSpec {
    int bits = 32;
    Granularity granularity = Granularity::kPerChannel;
    int group_size = 128;  // per_group, per_block (optimizer states) only
    bool symmetric = true;
    // false: unsigned codes 0..2^b-1 (the reference code's `signed: false`; reference grid only).
    bool is_signed = true;
    Rounding rounding = Rounding::kNearest;
    double min_range = 1e-5;  // floor r_min of the absmax (or max-min) range
    QuantGrid grid = QuantGrid::kReference;

    bool enabled() const {
        return bits <= 8;
    }

    bool operator==(const QuantizerSpec&) const = default;
};

// Per-layer override: the linears whose path matches `layers` (a glob: '*' any run of characters,
// e.g. "blocks.0.*", "lm_head") use the given entries instead of the section's. Keys not given in
// an entry take that tensor type's defaults (QuantSpec{}), not the section's values.
struct QuantOverride {
    std::string layers;
    std::optional<QuantizerSpec> weight;
    std::optional<QuantizerSpec> activation;
    std::optional<QuantizerSpec> grad_output;
    std::optional<QuantizerSpec> optim_m;
    std::optional<QuantizerSpec> optim_v;

    bool operator==(const QuantOverride&) const = default;
};

// An off quantizer with the reference code's granularity and r_min for its tensor type.
inline QuantizerSpec off_quantizer(Granularity granularity, double min_range) {
    QuantizerSpec spec;
    spec.granularity = granularity;
    spec.min_range = min_range;
    return spec;
}

// The quant: section. All entries default to off, so a recipe without it trains in full precision.
struct QuantSpec {
    QuantizerSpec weight = off_quantizer(Granularity::kPerChannel, 1e-5);     // W, per row
    QuantizerSpec activation = off_quantizer(Granularity::kPerToken, 1e-5);   // input X
    QuantizerSpec grad_output = off_quantizer(Granularity::kPerToken, 1e-9);  // dL/dY
    QuantizerSpec optim_m = off_quantizer(Granularity::kPerChannel, 1e-8);    // AdamW m
    QuantizerSpec optim_v = off_quantizer(Granularity::kPerChannel, 1e-8);    // AdamW v
    // Linear roles to quantize (GPT-2: qkv, attn_out, fc1, fc2; Llama: q, k, v, o, gate, up,
    // down; both: lm_head). Empty: the reference default, every linear including lm_head.
    std::vector<std::string> scope;
    BackwardMode backward = BackwardMode::kPaper;
    bool split_qkv_grad = false;  // separate G scales for the q, k and v blocks of a fused qkv
    QuantArithmetic arithmetic = QuantArithmetic::kFp32;
    SecondMomentMapping optim_v_mapping = SecondMomentMapping::kLinear;
    std::vector<QuantOverride> overrides;
    ForwardGemm forward_gemm = ForwardGemm::kFakeQuant;

    // Any tensor quantized, by the section or by an override.
    bool enabled() const;

    bool operator==(const QuantSpec&) const = default;
};

// The telemetry: section: per-layer quantization statistics and histograms of the quantized
// linears' tensors, written to the workspace on logging steps (core/telemetry).
struct TelemetrySpec {
    int64_t every = 100;         // log every this many steps (after the step); 0 = never
    std::vector<int64_t> steps;  // extra logging steps (1-based, as the trainer counts them)
    int bins = 64;               // uniform histogram bins over each tensor's [min, max]
    // Tensor kinds to record (weight, activation, grad_output, optim_m, optim_v); empty = all.
    std::vector<std::string> kinds;

    bool operator==(const TelemetrySpec&) const = default;
};

// How the ranks of a data-parallel job exchange gradients (docs/distributed.md §Compressed
// gradients): fp32 averages them exactly; bf16 and int8 send each rank's gradients encoded (int8:
// codes with one float32 scale per block) and add the decoded values in float32.
enum class GradientAllreduce { kFp32, kBf16, kInt8 };

// The distributed: section: options of a data-parallel job (docs/distributed.md). A run of one
// process ignores it.
struct DistributedSpec {
    GradientAllreduce gradient_allreduce = GradientAllreduce::kFp32;
    // bf16 / int8 only: what the encoding dropped is added to the next step's gradient.
    bool error_feedback = false;
    // Each rank holds and updates the optimizer state of its share of the parameters only, and
    // sends the updated parameters to the others (ZeRO stage 1): same results, state ÷ ranks.
    bool shard_optimizer_states = false;

    bool operator==(const DistributedSpec&) const = default;
};

// EfficientQAT (docs/efficientqat.md): which method turns the source model into a packed one.
enum class QatMethod { kEfficientQat, kRtn, kGptq };

// qat.block_ap: the block-wise phase. Defaults are the method's reference values for 7B-scale
// models; docs/efficientqat.md §Settings gives the scaled-down values for tiny models.
struct BlockApSpec {
    // Calibration text (files or folders, or builtin:markov); empty: the source run's data.train.
    std::vector<std::string> calibration;
    int64_t samples = 4096;    // training windows
    int64_t val_samples = 64;  // validation windows
    int seq_len = 2048;        // tokens per window; at most the source model's context
    int epochs = 2;
    int batch = 2;
    double quant_lr = 1e-4;
    double weight_lr = 1e-5;
    double min_lr_factor = 20.0;
    double weight_decay = 0.0;
    bool train_norms = true;
    bool train_weights = true;       // ablation: false trains only s and z
    bool train_quant_params = true;  // ablation: false trains only W (and the norms)
    Precision precision = Precision::kFp32;

    bool operator==(const BlockApSpec&) const = default;
};

// qat.e2e_qp: the end-to-end phase (method efficientqat only; epochs 0 skips it).
struct E2eQpSpec {
    std::vector<std::string> corpus;  // empty: qat.block_ap.calibration
    int64_t samples = 4096;
    int seq_len = 4096;
    int global_batch = 32;
    int micro_batch = 4;
    int epochs = 1;
    double lr = 1e-5;
    double warmup_ratio = 0.03;
    double grad_clip = 0.3;

    bool operator==(const E2eQpSpec&) const = default;
};

// qat.gptq: the GPTQ baseline.
struct GptqSpec {
    double damp = 0.01;
    bool act_order = false;
    int block_size = 128;

    bool operator==(const GptqSpec&) const = default;
};

// The qat: section, read by `lowbit qat` (`lowbit train` ignores it).
struct QatSpec {
    std::string source;  // a run (id or name) or a checkpoint folder
    QatMethod method = QatMethod::kEfficientQat;
    int bits = 4;
    int group_size = 128;
    BlockApSpec block_ap;
    E2eQpSpec e2e_qp;
    GptqSpec gptq;
    // Perplexity corpora after quantizing (files); empty: the source run's validation split.
    std::vector<std::string> eval;

    bool operator==(const QatSpec&) const = default;
};

struct Recipe {
    std::string name = "default";
    uint64_t seed = 1337;
    ModelSpec model;
    DataSpec data;
    TrainSpec train;
    QuantSpec quant;
    TelemetrySpec telemetry;
    DistributedSpec distributed;
    QatSpec qat;

    bool operator==(const Recipe&) const = default;
};

// Stable lowercase names used in YAML, JSON, the database and the GUI.
const char* to_string(ModelFamily v);
const char* to_string(DataFormat v);
const char* to_string(TokenizerKind v);
const char* to_string(SentencePieceType v);
const char* to_string(Schedule v);
const char* to_string(Precision v);
const char* to_string(DeviceChoice v);
const char* to_string(Granularity v);
const char* to_string(Rounding v);
const char* to_string(QuantGrid v);
const char* to_string(BackwardMode v);
const char* to_string(QuantArithmetic v);
const char* to_string(ForwardGemm v);
const char* to_string(GradientAllreduce v);
const char* to_string(SecondMomentMapping v);
const char* to_string(QatMethod v);

// The linear roles that quant.scope may name for a model of this spec (lm_head last): a fused
// Llama has qkv / gate_up instead of q, k, v / gate, up.
std::vector<std::string> quant_roles(const ModelSpec& model);

// Effective feed-forward width after applying the family default (d_ff = 0).
int effective_d_ff(const ModelSpec& model);

}  // namespace lowbit::config
