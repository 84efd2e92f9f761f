// The tiny decoder the core/qat tests quantize: 2 blocks, d_model 64, d_ff 128 (groups of 32
// divide both), context 16, vocabulary 97, in eval mode, initialised from `seed`; the same after
// Block-AP, and its logits on fixed token ids.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/qat/block_ap.h"

#include <memory>

namespace lowbit::qat::test {

inline constexpr int64_t kTinyVocab = 97;
inline constexpr int64_t kTinyContext = 16;

inline std::shared_ptr<model::LanguageModelImpl> tiny_model(config::ModelFamily family,
                                                            uint64_t seed = 5) {
    model::ModelConfig cfg;
    cfg.family = family;
    cfg.layers = 2;
    cfg.heads = 4;
    cfg.d_model = 64;
    cfg.d_ff = 128;
    cfg.context = kTinyContext;
    cfg.vocab_size = kTinyVocab;
    auto model = model::create_model(cfg, seed);
    model->eval();
    return model;
}

// A tiny model after Block-AP (one epoch per block) at `bits`, groups of 32.
inline std::shared_ptr<model::LanguageModelImpl> quantized_model(config::ModelFamily family,
                                                                 int bits) {
    auto model = tiny_model(family);
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(21);
    const torch::Tensor train = torch::randint(0, kTinyVocab, {16, kTinyContext}, gen);
    const torch::Tensor val = torch::randint(0, kTinyVocab, {4, kTinyContext}, gen);
    ActivationStreams s = block_zero_inputs(*model, train, val, 4);
    BlockApOptions o;
    o.spec = {.bits = bits, .group_size = 32};
    o.epochs = 1;
    o.batch = 4;
    o.quant_lr = 1e-3;
    o.weight_lr = 1e-4;
    for (int64_t b = 0; b < model->block_count(); ++b) {
        train_block(*model, b, s, o, {});
    }
    return model;
}

inline torch::Tensor sample_ids() {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(22);
    return torch::randint(0, kTinyVocab, {3, kTinyContext}, gen);
}

inline torch::Tensor logits(model::LanguageModelImpl& model) {
    torch::NoGradGuard no_grad;
    return model.forward(sample_ids());
}

}  // namespace lowbit::qat::test
