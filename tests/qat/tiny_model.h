// The tiny decoder the core/qat tests quantize: 2 blocks, d_model 64, d_ff 128 (groups of 32
// divide both), context 16, vocabulary 97, in eval mode, initialised from `seed`.
#pragma once

#include "lowbit/model/language_model.h"

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

}  // namespace lowbit::qat::test
