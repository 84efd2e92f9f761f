// Loading a model (and its tokenizer) from a checkpoint reference for eval, export and generate:
// a checkpoint folder, a run id/name in a workspace (its latest checkpoint), or a packed model
// file (docs/efficientqat.md §Packed model file; its tokenizer is the one its metadata names).
#pragma once

#include "lowbit/data/tokenizer.h"
#include "lowbit/model/language_model.h"
#include "lowbit/store/records.h"
#include "lowbit/store/workspace.h"

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace lowbit::train {

struct LoadedModel {
    std::shared_ptr<model::LanguageModelImpl> model;  // on the CPU, eval mode
    std::unique_ptr<data::Tokenizer> tokenizer;       // null when the checkpoint has none
    std::filesystem::path checkpoint_dir;
    std::filesystem::path tokenizer_model;  // tokenizer.model in the checkpoint, if any
    std::optional<store::RunRecord> run;    // set when the reference was a run
    int64_t step = 0;
};

LoadedModel load_checkpoint_model(const std::string& reference,
                                  const std::optional<store::Workspace>& workspace);

}  // namespace lowbit::train
