// Block-AP: the per-block loop of docs/efficientqat.md §Block-AP.
#include "lowbit/qat/block_ap.h"

#include "lowbit/dist/gradient_averaging.h"
#include "lowbit/qat/fake_quant_linear.h"
#include "lowbit/qat/packed_linear.h"
#include "lowbit/util/autocast_guard.h"
#include "lowbit/util/peak_memory.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

namespace lowbit::qat {

namespace {

using Clock = std::chrono::steady_clock;

// The block's norm parameters: every parameter that is not a Linear weight or bias and whose
// name ends in "weight" (norm gains; GPT-2's LayerNorm biases stay frozen, as the reference
// selects parameters by name).
std::map<std::string, torch::Tensor> norm_parameters(model::LanguageModelImpl& model,
                                                     int64_t index) {
    std::vector<const void*> linear_tensors;
    for (const model::Linear& linear : model.block_linears(index)) {
        linear_tensors.push_back(linear->weight().unsafeGetTensorImpl());
        if (linear->has_bias()) {
            linear_tensors.push_back(linear->bias().unsafeGetTensorImpl());
        }
    }
    std::map<std::string, torch::Tensor> norms;
    for (const auto& item : model.block(index)->named_parameters()) {
        const bool is_linear =
            std::find(linear_tensors.begin(),
                      linear_tensors.end(),
                      item.value().unsafeGetTensorImpl()) != linear_tensors.end();
        const std::string& name = item.key();
        const bool is_gain = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
        if (!is_linear && is_gain) {
            norms.emplace(name, item.value());
        }
    }
    return norms;
}

// fn over consecutive slices of `batch` rows of inputs (N, ...), the results concatenated along
// the rows, without gradients.
template <typename Fn>
torch::Tensor in_batches(const torch::Tensor& inputs, int64_t batch, Fn&& fn) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> outs;
    for (int64_t b = 0; b < inputs.size(0); b += batch) {
        outs.push_back(fn(inputs.slice(0, b, b + batch)));
    }
    return torch::cat(outs, 0);
}

// Installs a finished block's trained norms and packed layers in `model`.
void install_block_state(model::LanguageModelImpl& model, const FinishedBlock& block) {
    {
        torch::NoGradGuard no_grad;
        std::map<std::string, torch::Tensor> norms = norm_parameters(model, block.index);
        for (const auto& [name, value] : block.norms) {
            auto it = norms.find(name);
            TORCH_CHECK(it != norms.end(),
                        "install_finished_block: block ",
                        block.index,
                        " has no norm parameter ",
                        name);
            it->second.copy_(value);
        }
    }
    for (model::Linear linear : model.block_linears(block.index)) {
        auto it = block.linears.find(linear->path());
        TORCH_CHECK(it != block.linears.end(),
                    "install_finished_block: no packed weight for ",
                    linear->path());
        TORCH_CHECK(
            it->second.in == linear->in_features() && it->second.out == linear->out_features(),
            "install_finished_block: packed weight for ",
            linear->path(),
            " is ",
            it->second.out,
            "x",
            it->second.in,
            ", the layer ",
            linear->out_features(),
            "x",
            linear->in_features());
        auto packed = std::make_shared<PackedLinear>(it->second);
        packed->to(linear->weight().device());
        linear->set_weight_only(packed);
    }
}

int64_t peak_memory_bytes(const torch::Tensor& like) {
    if (like.is_cuda()) {
        return util::cuda_peak_allocated_bytes(like.device().index()).value_or(0);
    }
    return util::peak_resident_bytes().value_or(0);
}

}  // namespace

torch::Tensor run_block(model::LanguageModelImpl& model,
                        int64_t index,
                        const torch::Tensor& inputs,
                        int64_t batch) {
    return in_batches(
        inputs, batch, [&](const torch::Tensor& x) { return model.block_forward(index, x); });
}

ActivationStreams block_zero_inputs(model::LanguageModelImpl& model,
                                    const torch::Tensor& train_ids,
                                    const torch::Tensor& val_ids,
                                    int64_t batch) {
    auto embed = [&](const torch::Tensor& ids) { return model.embed(ids).to(torch::kFloat32); };
    ActivationStreams streams;
    streams.fp_train = in_batches(train_ids, batch, embed);
    streams.quant_train = streams.fp_train.clone();
    streams.fp_val = in_batches(val_ids, batch, embed);
    streams.quant_val = streams.fp_val.clone();
    return streams;
}

double block_ap_learning_rate(double lr, double min_lr_factor, int64_t step, int64_t total) {
    const double floor = lr / min_lr_factor;
    if (total <= 0) {
        return lr;
    }
    const double progress = static_cast<double>(std::min(step, total)) / static_cast<double>(total);
    return floor + (lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

FinishedBlock train_block(model::LanguageModelImpl& model,
                          int64_t index,
                          ActivationStreams& streams,
                          const BlockApOptions& options,
                          const std::function<void(const BlockApEpoch&)>& on_epoch,
                          const CalibrationShare* share) {
    TORCH_CHECK(!model.is_training(), "train_block: the model must be in eval mode");
    const std::vector<model::Linear> linears = model.block_linears(index);
    const std::map<std::string, torch::Tensor> norms = norm_parameters(model, index);

    // The targets: the full-precision block on the FP stream, which also feeds the next block.
    streams.fp_train = run_block(model, index, streams.fp_train, options.batch);
    streams.fp_val = run_block(model, index, streams.fp_val, options.batch);

    for (const auto& item : model.block(index)->parameters()) {
        torch::Tensor param = item;
        param.requires_grad_(false);
    }
    std::vector<std::shared_ptr<FakeQuantLinear>> fake;
    std::vector<torch::Tensor> quant_params;
    std::vector<torch::Tensor> weight_params;
    for (model::Linear linear : linears) {
        auto layer =
            std::make_shared<FakeQuantLinear>(GroupQuantizer(linear->weight(), options.spec));
        layer->quantizer().set_trainable(options.train_quant_params, options.train_quant_params);
        layer->set_enabled(options.quantize);
        if (options.train_quant_params) {
            quant_params.push_back(layer->quantizer().step());
            quant_params.push_back(layer->quantizer().zero_point());
        }
        linear->set_weight_only(layer);
        fake.push_back(layer);
        torch::Tensor weight = linear->weight();
        weight.requires_grad_(options.train_weights);
        if (options.train_weights) {
            weight_params.push_back(weight);
        }
    }
    for (const auto& [name, norm] : norms) {
        torch::Tensor param = norm;
        param.requires_grad_(options.train_norms);
        if (options.train_norms) {
            weight_params.push_back(param);
        }
    }

    std::vector<torch::optim::OptimizerParamGroup> groups;
    const bool has_quant = !quant_params.empty() && options.quant_lr > 0;
    const bool has_weight = !weight_params.empty() && options.weight_lr > 0;
    if (has_quant) {
        groups.emplace_back(
            quant_params,
            std::make_unique<torch::optim::AdamWOptions>(
                torch::optim::AdamWOptions(options.quant_lr).weight_decay(options.weight_decay)));
    }
    if (has_weight) {
        groups.emplace_back(
            weight_params,
            std::make_unique<torch::optim::AdamWOptions>(
                torch::optim::AdamWOptions(options.weight_lr).weight_decay(options.weight_decay)));
    }
    std::unique_ptr<torch::optim::AdamW> optimizer;
    if (!groups.empty()) {
        optimizer =
            std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions());
    }

    // Which rows this process computes: all of them, or its part of each batch in a data-parallel
    // run (docs/efficientqat.md §Data-parallel runs).
    const CalibrationShare whole = calibration_share(
        streams.quant_train.size(0), options.batch, streams.quant_val.size(0), nullptr);
    const CalibrationShare& rows = share != nullptr ? *share : whole;
    const int ranks = rows.ranks();
    std::vector<torch::Tensor> trained = quant_params;
    trained.insert(trained.end(), weight_params.begin(), weight_params.end());
    const auto steps_per_epoch = static_cast<int64_t>(rows.train.size());
    const int64_t total_steps = steps_per_epoch * options.epochs;
    int64_t step = 0;
    double quant_lr = options.quant_lr;
    double weight_lr = options.weight_lr;
    if (streams.quant_train.is_cuda()) {
        util::reset_cuda_peak(streams.quant_train.device().index());
    }
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        const auto started = Clock::now();
        // Summed where the loss lives and read once per epoch: no host sync per step.
        torch::Tensor loss_sum = torch::zeros({}, streams.quant_train.options());
        for (const BatchPart& part : rows.train) {
            quant_lr =
                block_ap_learning_rate(options.quant_lr, options.min_lr_factor, step, total_steps);
            weight_lr =
                block_ap_learning_rate(options.weight_lr, options.min_lr_factor, step, total_steps);
            if (optimizer) {
                size_t g = 0;
                if (has_quant) {
                    static_cast<torch::optim::AdamWOptions&>(
                        optimizer->param_groups()[g++].options())
                        .lr(quant_lr);
                }
                if (has_weight) {
                    static_cast<torch::optim::AdamWOptions&>(optimizer->param_groups()[g].options())
                        .lr(weight_lr);
                }
                optimizer->zero_grad();
            }
            if (part.count > 0) {
                const int64_t end = part.local_first + part.count;
                torch::Tensor out;
                {
                    util::AutocastGuard autocast(streams.quant_train.device().type(), options.bf16);
                    out = model.block_forward(index,
                                              streams.quant_train.slice(0, part.local_first, end));
                }
                out = out.to(torch::kFloat32);
                torch::Tensor loss =
                    torch::mse_loss(out, streams.fp_train.slice(0, part.local_first, end));
                // The part's mean weighted so that the mean over the ranks of the weighted means
                // is the whole batch's mean (1 for a single process, or for equal parts).
                const double weight =
                    static_cast<double>(ranks * part.count) / static_cast<double>(part.batch_rows);
                if (weight != 1.0) {
                    loss = loss * weight;
                }
                loss_sum += loss.detach();
                if (optimizer) {
                    loss.backward();
                }
            }
            if (optimizer) {
                if (rows.world != nullptr) {
                    torch::Tensor no_riders;
                    dist::average_gradients(*rows.world, trained, no_riders);
                }
                optimizer->step();
            }
            ++step;
        }
        BlockApEpoch record;
        record.block = index;
        record.epoch = epoch;
        const torch::Tensor val_error = run_block(model, index, streams.quant_val, options.batch) -
                                        streams.fp_val;  // (M_rank, T, C)
        if (rows.world == nullptr) {
            record.train_loss = loss_sum.item<double>() / static_cast<double>(steps_per_epoch);
            record.val_loss = val_error.square().mean().item<double>();
        } else {
            // [Σ weighted part losses, Σ squared validation errors, validation elements]
            std::vector<torch::Tensor> sums{torch::stack(
                {loss_sum.to(torch::kCPU, torch::kFloat64),
                 val_error.square().sum().to(torch::kCPU, torch::kFloat64),
                 torch::tensor(static_cast<double>(val_error.numel()), torch::kFloat64)})};
            rows.world->allreduce_sum(sums);
            const auto* sum = sums[0].data_ptr<double>();
            record.train_loss = sum[0] / static_cast<double>(ranks * steps_per_epoch);
            record.val_loss = sum[1] / sum[2];
        }
        record.quant_lr = quant_lr;
        record.weight_lr = weight_lr;
        record.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        record.peak_memory_bytes = peak_memory_bytes(streams.quant_train);
        if (on_epoch) {
            on_epoch(record);
        }
    }

    // Finalise: steps to fp16, zero points to integers, W ← Ŵ, then the packed layer.
    FinishedBlock finished;
    finished.index = index;
    {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < linears.size(); ++i) {
            GroupQuantizer& quantizer = fake[i]->quantizer();
            fake[i]->set_enabled(true);
            quantizer.set_trainable(false, false);
            quantizer.finalize();
            torch::Tensor weight = linears[i]->weight();
            weight.requires_grad_(false);
            weight.copy_(quantizer.fake_quantize(weight));
            finished.linears.emplace(linears[i]->path(), pack_weight(weight, quantizer));
        }
        for (const auto& [name, norm] : norms) {
            torch::Tensor param = norm;
            param.requires_grad_(false);
            finished.norms.emplace(name, norm.detach().clone());
        }
    }
    install_block_state(model, finished);
    streams.quant_train = run_block(model, index, streams.quant_train, options.batch);
    streams.quant_val = run_block(model, index, streams.quant_val, options.batch);
    return finished;
}

void install_finished_block(model::LanguageModelImpl& model,
                            const FinishedBlock& block,
                            ActivationStreams* streams,
                            int64_t batch) {
    // The FP stream goes through the block's original weights, so it advances first.
    if (streams != nullptr) {
        streams->fp_train = run_block(model, block.index, streams->fp_train, batch);
        streams->fp_val = run_block(model, block.index, streams->fp_val, batch);
    }
    install_block_state(model, block);
    if (streams != nullptr) {
        streams->quant_train = run_block(model, block.index, streams->quant_train, batch);
        streams->quant_val = run_block(model, block.index, streams->quant_val, batch);
    }
}

}  // namespace lowbit::qat
