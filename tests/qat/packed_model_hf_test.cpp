// The dequantized Hugging Face export of a packed model (docs/efficientqat.md §Packed model file)
// loads in transformers and gives the packed model's logits (max abs difference under 1e-4), for
// GPT-2 and Llama at 2 bits (tests/core/hf_logits.py computes them).
#include "lowbit/io/hf_export.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/qat/packed_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../core/temp_dir.h"
#include "../support/shell_command.h"
#include "tiny_model.h"

namespace lowbit::qat {
namespace {

namespace fs = std::filesystem;
using test::logits;
using test::quantized_model;
using test::sample_ids;

TEST(PackedModelHfTest, TheDequantizedHuggingFaceExportGivesTheSameLogitsInTransformers) {
    if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
        GTEST_SKIP() << "LOWBIT_PYTHON is not set: no transformers to compare with";
    }
    testing::TempDir dir("packed_hf");
    for (const auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        auto model = quantized_model(family, 2);
        const torch::Tensor packed_logits = logits(*model);
        dequantize_in_place(*model);
        const fs::path out = dir.path() / model::family_name(family);
        io::export_hf(*model, out, "");
        io::save_safetensors(dir.path() / "ids.safetensors", {{"ids", sample_ids()}});
        const std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_SOURCE_DIR +
                                "/tests/core/hf_logits.py' logits '" + out.string() + "' '" +
                                (dir.path() / "ids.safetensors").string() + "' '" +
                                (dir.path() / "hf.safetensors").string() + "' 2>&1";
        std::string report;
        ASSERT_EQ(testing::run_shell_command(cmd, &report), 0) << cmd << "\n" << report;
        const torch::Tensor hf = io::load_safetensors(dir.path() / "hf.safetensors").at("logits");
        EXPECT_LT((hf - packed_logits).abs().max().item<double>(), 1e-4)
            << model::family_name(family);
    }
}

}  // namespace
}  // namespace lowbit::qat
