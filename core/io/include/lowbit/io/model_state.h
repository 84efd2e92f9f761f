// Internal model checkpoints: the model's tensors under our own stable parameter names
// ("blocks.0.attn.qkv.weight"), and a strict loader for them.
#pragma once

#include "lowbit/io/safetensors.h"
#include "lowbit/model/language_model.h"

namespace lowbit::io {

// Every parameter and buffer of the model by name, in registration order (the tensors
// themselves, not copies; a tied lm_head appears once, as tok_emb.weight).
NamedTensors model_state(const model::LanguageModelImpl& model);

// Copies the file's tensors into the model (converting dtype, keeping the model's device).
// Strict: a missing, unexpected or mis-shaped tensor throws io::FormatError naming it, and then
// nothing has been copied.
void load_model_state(model::LanguageModelImpl& model, const SafetensorsFile& file);

}  // namespace lowbit::io
