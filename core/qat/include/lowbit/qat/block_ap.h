// Block-AP (docs/efficientqat.md §Block-AP): trains one transformer block at a time, every Linear
// weight with its learnable group quantizer (and optionally the block's norms), to reproduce the
// full-precision block's output from the inputs the already quantized blocks produce; then
// freezes the block to packed integer codes.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/qat/calibration_share.h"
#include "lowbit/qat/group_quantizer.h"
#include "lowbit/qat/packed_weight.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace lowbit::qat {

struct BlockApOptions {
    GroupQuantSpec spec;
    int epochs = 2;
    int64_t batch = 2;
    double quant_lr = 1e-4;   // s and z
    double weight_lr = 1e-5;  // W (and the norms when train_norms)
    double min_lr_factor = 20.0;
    double weight_decay = 0.0;
    bool train_norms = true;
    // Ablations (docs/efficientqat.md §Ablations): only s and z (train_weights false), only W
    // (train_quant_params false).
    bool train_weights = true;
    bool train_quant_params = true;
    // The block's training forward under bf16 autocast (the targets, streams and losses stay
    // fp32).
    bool bf16 = false;
    // False trains the block with its quantizers switched off (a check: the loss is then 0 at
    // block 0, where both streams are equal).
    bool quantize = true;
};

// The calibration activations of the block being trained, each (N, T, C) fp32: the full-precision
// stream (FP inputs, whose FP block outputs are the targets) and the quantized stream (the
// outputs of the already quantized blocks), for the training and the validation windows.
struct ActivationStreams {
    torch::Tensor fp_train;
    torch::Tensor quant_train;
    torch::Tensor fp_val;
    torch::Tensor quant_val;
};

// One block's epoch as the workspace records it.
struct BlockApEpoch {
    int64_t block = 0;
    int epoch = 0;          // 1-based
    double train_loss = 0;  // mean MSE over the epoch's batches
    double val_loss = 0;    // MSE over every validation element after the epoch
    double quant_lr = 0;    // at the epoch's last step
    double weight_lr = 0;
    double seconds = 0;
    int64_t peak_memory_bytes = 0;
};

// What a finished block keeps: the packed weight of each Linear (by path) and the trained norm
// parameters (by their name inside the block).
struct FinishedBlock {
    int64_t index = 0;
    std::map<std::string, PackedWeight> linears;
    std::map<std::string, torch::Tensor> norms;
};

// Block 0's inputs for train_ids (N, T) and val_ids (M, T) int64: the embedding, the same in both
// streams.
ActivationStreams block_zero_inputs(model::LanguageModelImpl& model,
                                    const torch::Tensor& train_ids,
                                    const torch::Tensor& val_ids,
                                    int64_t batch);

// The learning rate after `step` of `total` steps: a cosine from lr to lr / min_lr_factor, no
// warmup.
double block_ap_learning_rate(double lr, double min_lr_factor, int64_t step, int64_t total);

// Trains block `index` of `model` (which must be in eval mode) and returns it finished: its
// Linears then compute with PackedLinear, its norms hold the trained values, and `streams` holds
// the inputs of block index + 1 (FP block outputs in the FP stream, finished-block outputs in the
// quantized one). `on_epoch` is called after every epoch.
// `share` null: the streams hold every window and this process computes them all. Otherwise the
// streams hold this rank's rows (share->train_rows() and the share->val rows) and every step's
// gradient and every epoch's losses are summed over share->world: collective, and every rank
// ends with the same finished block.
FinishedBlock train_block(model::LanguageModelImpl& model,
                          int64_t index,
                          ActivationStreams& streams,
                          const BlockApOptions& options,
                          const std::function<void(const BlockApEpoch&)>& on_epoch,
                          const CalibrationShare* share = nullptr);

// The state of a block finished earlier (a resumed run): installs it in `model` and advances
// `streams` past it exactly as train_block did. The FP stream needs the block's original weights,
// so `model` must still hold them.
void install_finished_block(model::LanguageModelImpl& model,
                            const FinishedBlock& block,
                            ActivationStreams* streams,
                            int64_t batch);

// The block's output (N, T, C) for inputs (N, T, C), computed in batches without gradients.
torch::Tensor run_block(model::LanguageModelImpl& model,
                        int64_t index,
                        const torch::Tensor& inputs,
                        int64_t batch);

}  // namespace lowbit::qat
