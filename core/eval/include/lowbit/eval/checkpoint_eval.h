// `lowbit eval`: perplexity of a checkpoint (or a run's latest checkpoint) on a text or token
// file with non-overlapping windows; for a run the result is stored as scalars
// eval/<file stem>/{ppl,nll} at the checkpoint's step, plus an event.
#pragma once

#include "lowbit/eval/perplexity.h"

#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>

namespace lowbit::eval {

struct EvalRequest {
    std::string reference;  // checkpoint folder, or run id/name
    std::optional<std::filesystem::path> workspace_root;
    std::filesystem::path
        data_file;    // UTF-8 text (tokenized with the checkpoint's tokenizer) or .bin
    int context = 0;  // 0: the model's context
    int batch_size = 8;
    std::string device = "auto";
};

struct EvalReport {
    PerplexityResult result;
    std::optional<int64_t> run_id;
    int64_t step = 0;
    int context = 0;
    std::string key_prefix;  // "eval/<file stem>"
};

EvalReport evaluate_checkpoint(const EvalRequest& request);

// The device of a `--device auto|cpu|cuda` option: auto takes the first GPU when there is one.
// util::BadInput for cuda without a GPU or another word.
torch::Device pick_device(const std::string& choice);

}  // namespace lowbit::eval
