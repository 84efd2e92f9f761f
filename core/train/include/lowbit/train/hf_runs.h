// Hugging Face folders <-> workspace: `lowbit export RUN|CHECKPOINT --format hf` and
// `lowbit import HF_DIR`, which records the imported weights as a run of kind "import" with a
// step-0 checkpoint, usable by eval, `train --init-from` and (later) EfficientQAT.
#pragma once

#include "lowbit/store/workspace.h"

#include <filesystem>
#include <optional>
#include <string>

namespace lowbit::train {

// Returns the folder written. For a run reference the export is recorded as an artifact.
std::filesystem::path export_hf_folder(const std::string& reference,
                                       const std::optional<std::filesystem::path>& workspace_root,
                                       const std::filesystem::path& out_dir);

struct ImportResult {
    int64_t run_id = 0;
    std::filesystem::path checkpoint_dir;
    int64_t parameters = 0;
    std::string family;
};

ImportResult import_hf_folder(const std::filesystem::path& workspace_root,
                              const std::filesystem::path& hf_dir,
                              const std::string& name);

}  // namespace lowbit::train
