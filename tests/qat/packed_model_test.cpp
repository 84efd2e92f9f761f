// The packed model file (docs/efficientqat.md §Packed model file): a model fresh from Block-AP
// computes, through its packed layers, the logits of the fake-quantized model it came from (fp32,
// max abs difference under 1e-4); saving and loading keeps them exactly; the packed tensors take
// N + (N + 16)/G bits per weight plus g_idx; a truncated or damaged file is refused with the file
// and tensor named.
#include "lowbit/qat/packed_model.h"

#include "lowbit/io/format_error.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/qat/block_ap.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../core/temp_dir.h"
#include "tiny_model.h"

namespace lowbit::qat {
namespace {

namespace fs = std::filesystem;

using test::logits;
using test::quantized_model;
using test::sample_ids;

TEST(PackedModelTest, PackedLogitsEqualTheFakeQuantizedModelsAndSurviveTheFile) {
    testing::TempDir dir("packed_model");
    for (const auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        for (const int bits : {2, 3, 4, 8}) {
            auto model = quantized_model(family, bits);
            const torch::Tensor packed_logits = logits(*model);
            const fs::path file = dir.path() / "model.safetensors";
            save_packed_model(*model, file);
            PackedModel loaded = load_packed_model(file);
            EXPECT_EQ(loaded.spec.bits, bits);
            EXPECT_TRUE(torch::equal(logits(*loaded.model), packed_logits));
            // Block-AP left W = Ŵ in the float weights: without the packed layers the model is
            // the fake-quantized one.
            dequantize_in_place(*model);
            const double diff = (logits(*model) - packed_logits).abs().max().item<double>();
            EXPECT_LT(diff, 1e-4) << model::family_name(family) << " w" << bits;
        }
    }
}

TEST(PackedModelTest, PackedBytesFollowBitsPlusZeroAndStepPerGroup) {
    testing::TempDir dir("packed_size");
    for (const int bits : {2, 4, 8}) {
        auto model = quantized_model(config::ModelFamily::kLlama, bits);
        const PackedSize size = packed_size(*model);
        int64_t g_idx_bits = 0;
        for (int64_t b = 0; b < model->block_count(); ++b) {
            for (const model::Linear& linear : model->block_linears(b)) {
                g_idx_bits += 32 * linear->in_features();
            }
        }
        const double expected_bits =
            (bits + (bits + 16.0) / 32.0) * static_cast<double>(size.weights) + g_idx_bits;
        EXPECT_DOUBLE_EQ(static_cast<double>(size.bytes) * 8.0, expected_bits);
        // The file: the packed tensors, every other tensor in fp32 and a header of a few KiB.
        const fs::path file = dir.path() / "model.safetensors";
        save_packed_model(*model, file);
        int64_t float_bytes = 0;
        for (const auto& p : model->parameters()) {
            float_bytes += p.numel() * 4;
        }
        float_bytes -= size.weights * 4;  // the packed layers' float weights are not stored
        const auto file_bytes = static_cast<int64_t>(fs::file_size(file));
        EXPECT_GE(file_bytes, size.bytes + float_bytes);
        EXPECT_LT(file_bytes, size.bytes + float_bytes + 16 * 1024) << bits << " bits";
    }
}

TEST(PackedModelTest, ATruncatedOrDamagedFileIsRefusedWithWhatAndWhere) {
    testing::TempDir dir("packed_bad");
    auto model = quantized_model(config::ModelFamily::kLlama, 4);
    const fs::path file = dir.path() / "model.safetensors";
    save_packed_model(*model, file);
    // Truncated: the last 100 bytes missing.
    const fs::path truncated = dir.path() / "truncated.safetensors";
    fs::copy_file(file, truncated);
    fs::resize_file(truncated, fs::file_size(file) - 100);
    try {
        load_packed_model(truncated);
        FAIL() << "a truncated file was accepted";
    } catch (const io::FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(truncated.string()), std::string::npos) << e.what();
    }
    // One layer's codes cut short: the file and the layer are named.
    io::SafetensorsFile content = io::load_safetensors(file);
    for (auto& [name, tensor] : content.tensors) {
        if (name == "blocks.1.mlp.down.qweight") {
            tensor = tensor.slice(0, 0, tensor.size(0) - 1).clone();
        }
    }
    const fs::path damaged = dir.path() / "damaged.safetensors";
    io::save_safetensors(damaged, content.tensors, content.metadata);
    try {
        load_packed_model(damaged);
        FAIL() << "a damaged file was accepted";
    } catch (const io::FormatError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(damaged.string()), std::string::npos) << what;
        EXPECT_NE(what.find("blocks.1.mlp.down: qweight is"), std::string::npos) << what;
    }
    // A plain (unpacked) checkpoint file is not a packed model.
    content.metadata.erase("quantization_config");
    io::save_safetensors(damaged, content.tensors, content.metadata);
    EXPECT_THROW(load_packed_model(damaged), io::FormatError);
}

}  // namespace
}  // namespace lowbit::qat
