// A packed model file through the CLI (docs/efficientqat.md §Generating text), made here: a tiny
// GPT-2 over bytes, quantized round-to-nearest at 4 bits.
// - `lowbit generate`: greedy output equals an argmax loop computed here on the same file; the
//   same seed samples the same text; a tokenizer named in the file's metadata is used.
// - `lowbit eval`: the printed perplexity is the file's model's on the text.
// - `lowbit export --format hf`: the exported weights are the dequantized ones.
// - Bad input: a packed file without a tokenizer, a truncated packed file and an unknown reference
//   with a missing workspace exit 2 with what and where, and create nothing.
#include "lowbit/eval/perplexity.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/packed_model.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "process_runner.h"
#include "temp_dir.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

class CliPackedModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        model::ModelConfig cfg;
        cfg.layers = 2;
        cfg.heads = 4;
        cfg.d_model = 64;
        cfg.d_ff = 128;
        cfg.context = 32;
        cfg.vocab_size = 256;  // the byte tokenizer's
        auto model = model::create_model(cfg, 3);
        model->eval();
        const torch::Tensor ids = torch::randint(0, 256, {8, 32});
        qat::ActivationStreams s = qat::block_zero_inputs(*model, ids, ids, 4);
        qat::BlockApOptions rtn;
        rtn.spec = {.bits = 4, .group_size = 32};
        rtn.epochs = 0;
        for (int64_t b = 0; b < model->block_count(); ++b) {
            qat::train_block(*model, b, s, rtn, {});
        }
        packed_ = dir_.path() / "packed.safetensors";
        qat::save_packed_model(*model, packed_);
    }

    TempDir dir_{"cli_packed_model"};
    fs::path packed_;
};

TEST_F(CliPackedModelTest, GreedyTextIsTheArgmaxOfEachNextToken) {
    const ProcessResult r = run_process({lowbit_exe(),
                                         "generate",
                                         packed_.string(),
                                         "--tokenizer",
                                         "byte",
                                         "--prompt",
                                         "ab",
                                         "--tokens",
                                         "12",
                                         "--temperature",
                                         "0",
                                         "--device",
                                         "cpu"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    qat::PackedModel loaded = qat::load_packed_model(packed_);
    std::vector<int64_t> history = {'a', 'b'};
    std::string expected = "ab";
    torch::NoGradGuard no_grad;
    for (int n = 0; n < 12; ++n) {
        const torch::Tensor ids = torch::tensor(history).unsqueeze(0);
        const int64_t next =
            loaded.model->forward(ids)[0][ids.size(1) - 1].argmax().item<int64_t>();
        history.push_back(next);
        expected.push_back(static_cast<char>(next));
    }
    EXPECT_EQ(r.out, expected + "\n");
}

TEST_F(CliPackedModelTest, ATokenizerNamedInTheFilesMetadataIsUsed) {
    // The same model saved with "lowbit_tokenizer": "byte": no --tokenizer needed.
    qat::PackedModel loaded = qat::load_packed_model(packed_);
    const fs::path with_tokenizer = dir_.path() / "with-tokenizer.safetensors";
    qat::save_packed_model(*loaded.model, with_tokenizer, {{qat::kTokenizerMetadataKey, "byte"}});
    const ProcessResult r = run_process(
        {lowbit_exe(), "generate", with_tokenizer.string(), "--tokens", "5", "--prompt", "x"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 1), "x");
    EXPECT_EQ(r.out.size(), 1U + 5U + 1U) << r.out;  // one byte per token, then a newline
}

TEST_F(CliPackedModelTest, TheSameSeedSamplesTheSameText) {
    const std::vector<std::string> args = {lowbit_exe(),
                                           "generate",
                                           packed_.string(),
                                           "--tokenizer",
                                           "byte",
                                           "--tokens",
                                           "40",
                                           "--temperature",
                                           "1.0",
                                           "--seed",
                                           "9"};
    const ProcessResult a = run_process(args);
    const ProcessResult b = run_process(args);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
}

TEST_F(CliPackedModelTest, EvalAndExportReadThePackedFile) {
    qat::PackedModel loaded = qat::load_packed_model(packed_);
    const fs::path with_tokenizer = dir_.path() / "with-tokenizer.safetensors";
    qat::save_packed_model(*loaded.model, with_tokenizer, {{qat::kTokenizerMetadataKey, "byte"}});
    const fs::path text = dir_.path() / "text.txt";
    std::string content;
    for (int i = 0; i < 40; ++i) {
        content += "the quick brown fox jumps over the lazy dog. ";
    }
    std::ofstream(text) << content;
    ProcessResult r = run_process({lowbit_exe(),
                                   "eval",
                                   with_tokenizer.string(),
                                   "--data",
                                   text.string(),
                                   "--device",
                                   "cpu"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<int64_t> tokens(content.begin(), content.end());
    const eval::PerplexityResult expected = eval::evaluate_perplexity(
        *loaded.model, tokens, 32, 8, torch::Device(torch::kCPU), config::Precision::kFp32);
    const auto at = r.out.find("ppl ");
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_NEAR(std::stod(r.out.substr(at + 4)), expected.perplexity, 1e-3 * expected.perplexity);

    const fs::path out = dir_.path() / "hf";
    r = run_process(
        {lowbit_exe(), "export", packed_.string(), "--format", "hf", "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // GPT-2's Conv1D stores fc1 as (in, out): our (out, in) dequantized weight transposed.
    const torch::Tensor exported =
        io::load_safetensors(out / "model.safetensors").at("transformer.h.0.mlp.c_fc.weight");
    const torch::Tensor ours = loaded.model->named_parameters()["blocks.0.mlp.fc1.weight"];
    EXPECT_TRUE(torch::equal(exported, ours.t()));
}

TEST_F(CliPackedModelTest, BadInputExitsTwoWithWhatAndWhere) {
    ProcessResult r = run_process({lowbit_exe(), "generate", packed_.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--tokenizer"), std::string::npos) << r.err;

    const fs::path truncated = dir_.path() / "truncated.safetensors";
    fs::copy_file(packed_, truncated);
    fs::resize_file(truncated, fs::file_size(packed_) / 2);
    r = run_process({lowbit_exe(), "generate", truncated.string(), "--tokenizer", "byte"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(truncated.string()), std::string::npos) << r.err;

    // An unknown reference with a workspace that does not exist: refused, nothing created.
    const fs::path workspace = dir_.path() / "ws";
    r = run_process({lowbit_exe(), "generate", "no-such-run", "--workspace", workspace.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(workspace.string()), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(workspace));
}

}  // namespace
}  // namespace lowbit::testing
