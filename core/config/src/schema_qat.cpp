// The qat: rows of the schema table (docs/efficientqat.md §Settings) and its cross-key rules.
// Rules that need the source model (group sizes dividing its widths, windows within its context)
// are checked by `lowbit qat` once the source is loaded, before any work starts.
#include "lowbit/config/recipe_schema.h"

#include "schema_rows.h"

namespace lowbit::config::detail {

void add_qat_fields(std::vector<FieldSpec>& f) {
    f.push_back(field("qat.source",
                      LOWBIT_REF(qat.source),
                      "The model to quantize: a run (id or name; an imported model's run too) or a "
                      "checkpoint folder"));
    f.push_back(field("qat.method",
                      LOWBIT_REF(qat.method),
                      "efficientqat (Block-AP, then E2E-QP), rtn (round to nearest) or gptq"));
    FieldSpec bits = field("qat.bits", LOWBIT_REF(qat.bits), "Bits per weight code");
    bits.allowed = {2, 3, 4, 8};
    bits.allowed_text = "2, 3, 4 or 8";
    bits.noun = "bit-width";
    f.push_back(std::move(bits));
    f.push_back(field("qat.group_size",
                      LOWBIT_REF(qat.group_size),
                      "Input features sharing one step and zero point; divides every block "
                      "linear's input width",
                      closed(1, 1 << 20)));
    f.push_back(field("qat.eval",
                      LOWBIT_REF(qat.eval),
                      "Text or .bin files scored after quantizing, besides the source's "
                      "validation split",
                      path(false)));

    f.push_back(field("qat.block_ap.calibration",
                      LOWBIT_REF(qat.block_ap.calibration),
                      "Calibration text (files, folders or builtin:markov); empty = the source "
                      "run's data.train",
                      path(false)));
    f.push_back(field("qat.block_ap.samples",
                      LOWBIT_REF(qat.block_ap.samples),
                      "Training windows (tiny models: 256-512)",
                      closed(1, 1 << 24)));
    f.push_back(field("qat.block_ap.val_samples",
                      LOWBIT_REF(qat.block_ap.val_samples),
                      "Validation windows, scored after every epoch",
                      closed(1, 1 << 24)));
    f.push_back(field("qat.block_ap.seq_len",
                      LOWBIT_REF(qat.block_ap.seq_len),
                      "Tokens per window; at most the source model's context (tiny models: 256)",
                      closed(2, 1 << 20)));
    f.push_back(field("qat.block_ap.epochs",
                      LOWBIT_REF(qat.block_ap.epochs),
                      "Passes over the windows per block; 0 = the round-to-nearest start",
                      closed(0, 1000)));
    f.push_back(field("qat.block_ap.batch",
                      LOWBIT_REF(qat.block_ap.batch),
                      "Windows per step",
                      closed(1, 1 << 16)));
    f.push_back(field("qat.block_ap.quant_lr",
                      LOWBIT_REF(qat.block_ap.quant_lr),
                      "AdamW learning rate of the steps and zero points",
                      at_least(0)));
    f.push_back(field("qat.block_ap.weight_lr",
                      LOWBIT_REF(qat.block_ap.weight_lr),
                      "AdamW learning rate of the weights and norms (reference: 2e-5 at 2 bits)",
                      at_least(0)));
    f.push_back(field("qat.block_ap.min_lr_factor",
                      LOWBIT_REF(qat.block_ap.min_lr_factor),
                      "The cosine ends at lr / min_lr_factor",
                      at_least(1)));
    f.push_back(field("qat.block_ap.weight_decay",
                      LOWBIT_REF(qat.block_ap.weight_decay),
                      "AdamW weight decay",
                      at_least(0)));
    f.push_back(field("qat.block_ap.train_norms",
                      LOWBIT_REF(qat.block_ap.train_norms),
                      "Also train the block's norm gains at weight_lr"));
    f.push_back(field("qat.block_ap.train_weights",
                      LOWBIT_REF(qat.block_ap.train_weights),
                      "Train the weights (false: only steps and zero points)"));
    f.push_back(field("qat.block_ap.train_quant_params",
                      LOWBIT_REF(qat.block_ap.train_quant_params),
                      "Train the steps and zero points (false: only the weights)"));
    f.push_back(field("qat.block_ap.precision",
                      LOWBIT_REF(qat.block_ap.precision),
                      "Compute precision of the block under training"));

    f.push_back(field("qat.e2e_qp.corpus",
                      LOWBIT_REF(qat.e2e_qp.corpus),
                      "Training text; empty = qat.block_ap.calibration",
                      path(false)));
    f.push_back(field("qat.e2e_qp.samples",
                      LOWBIT_REF(qat.e2e_qp.samples),
                      "Training windows (tiny models: 512-2048)",
                      closed(1, 1 << 24)));
    f.push_back(field("qat.e2e_qp.seq_len",
                      LOWBIT_REF(qat.e2e_qp.seq_len),
                      "Tokens per window; at most the source model's context",
                      closed(2, 1 << 20)));
    f.push_back(field("qat.e2e_qp.global_batch",
                      LOWBIT_REF(qat.e2e_qp.global_batch),
                      "Windows per optimizer step",
                      closed(1, 1 << 16)));
    f.push_back(field("qat.e2e_qp.micro_batch",
                      LOWBIT_REF(qat.e2e_qp.micro_batch),
                      "Windows per forward pass, accumulated to global_batch",
                      closed(1, 1 << 16)));
    f.push_back(field("qat.e2e_qp.epochs",
                      LOWBIT_REF(qat.e2e_qp.epochs),
                      "Passes over the windows; 0 = Block-AP only",
                      closed(0, 1000)));
    f.push_back(field("qat.e2e_qp.lr",
                      LOWBIT_REF(qat.e2e_qp.lr),
                      "AdamW learning rate of the steps (reference: 2e-5 at 2 bits)",
                      at_least(0)));
    f.push_back(field("qat.e2e_qp.warmup_ratio",
                      LOWBIT_REF(qat.e2e_qp.warmup_ratio),
                      "Share of the steps with a linear warmup, before the cosine to 0",
                      half_open(0, 1)));
    f.push_back(field("qat.e2e_qp.grad_clip",
                      LOWBIT_REF(qat.e2e_qp.grad_clip),
                      "Global gradient-norm clip; 0 = none",
                      at_least(0)));

    f.push_back(field("qat.gptq.damp",
                      LOWBIT_REF(qat.gptq.damp),
                      "Added to the Hessian's diagonal, as a fraction of its mean",
                      half_open(0, 1)));
    f.push_back(field("qat.gptq.act_order",
                      LOWBIT_REF(qat.gptq.act_order),
                      "Quantize columns in order of decreasing Hessian diagonal"));
    f.push_back(field("qat.gptq.block_size",
                      LOWBIT_REF(qat.gptq.block_size),
                      "Columns per lazy batch update (rounded down to whole groups)",
                      closed(1, 1 << 20)));
}

void check_qat(const Recipe& r, std::vector<RecipeProblem>& problems) {
    if (r.qat.e2e_qp.micro_batch > r.qat.e2e_qp.global_batch) {
        problems.push_back({"qat.e2e_qp.micro_batch",
                            "qat.e2e_qp.global_batch",
                            std::to_string(r.qat.e2e_qp.micro_batch) +
                                " is above qat.e2e_qp.global_batch (" +
                                std::to_string(r.qat.e2e_qp.global_batch) +
                                ") (expected micro_batch <= global_batch)",
                            false});
    }
    if (r.qat.e2e_qp.global_batch > r.qat.e2e_qp.samples) {
        problems.push_back({"qat.e2e_qp.global_batch",
                            "qat.e2e_qp.samples",
                            std::to_string(r.qat.e2e_qp.global_batch) +
                                " is above qat.e2e_qp.samples (" +
                                std::to_string(r.qat.e2e_qp.samples) +
                                ") (expected global_batch <= samples: no step would be taken)",
                            false});
    }
    if (r.qat.block_ap.batch > r.qat.block_ap.samples) {
        problems.push_back(
            {"qat.block_ap.batch",
             "qat.block_ap.samples",
             std::to_string(r.qat.block_ap.batch) + " is above qat.block_ap.samples (" +
                 std::to_string(r.qat.block_ap.samples) + ") (expected batch <= samples)",
             true});
    }
}

}  // namespace lowbit::config::detail

#undef LOWBIT_REF
