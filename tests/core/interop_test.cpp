// Hugging Face interop, end to end: our export loads in transformers with identical
// logits, and randomly initialised transformers models imported here give identical logits
// (max |diff| < 1e-4 in fp32). Skipped when the set-up's Python (LOWBIT_PYTHON) is absent.
#include "lowbit/io/hf_export.h"
#include "lowbit/io/hf_import.h"
#include "lowbit/io/safetensors.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "temp_dir.h"
#include <unistd.h>

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;

class InteropTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string(LOWBIT_PYTHON).empty() || !fs::exists(LOWBIT_PYTHON)) {
            GTEST_SKIP() << "LOWBIT_PYTHON is not set: no transformers to compare with";
        }
        temp_ = std::make_unique<lowbit::testing::TempDir>("hf");
        dir_ = temp_->path();
    }

    void TearDown() override {
        temp_.reset();
    }

    void python(const std::string& args) {
        const std::string cmd = std::string("'") + LOWBIT_PYTHON + "' '" + LOWBIT_TESTS_CORE_DIR +
                                "/hf_logits.py' " + args + " 2>'" + (dir_ / "py.err").string() +
                                "'";
        const int rc = std::system(cmd.c_str());
        if (rc != 0) {
            std::ifstream err(dir_ / "py.err");
            std::string text((std::istreambuf_iterator<char>(err)), {});
            FAIL() << "python failed (" << rc << "): " << cmd << "\n" << text;
        }
    }

    std::unique_ptr<lowbit::testing::TempDir> temp_;
    fs::path dir_;
};

model::ModelConfig small(config::ModelFamily family, int vocab, bool tie, bool fused = false) {
    model::ModelConfig c;
    c.family = family;
    c.layers = 2;
    c.heads = 4;
    c.d_model = 64;
    c.d_ff = family == config::ModelFamily::kGpt2 ? 256 : 160;
    c.context = 32;
    c.vocab_size = vocab;
    c.tie_embeddings = tie;
    if (family == config::ModelFamily::kLlama) {
        c.rope_theta = 500.0;  // not the default, so a dropped theta would show in the logits
        c.fused_qkv = fused;
        c.fused_gate_up = fused;
    }
    return c;
}

// Random weights well away from the init, norms included, so every tensor matters.
void randomise(model::LanguageModelImpl& m, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    torch::NoGradGuard no_grad;
    for (auto& item : m.named_parameters()) {
        auto& p = item.value();
        const bool norm = item.key().find("ln") != std::string::npos ||
                          item.key().find("norm") != std::string::npos;
        auto noise = torch::empty(p.sizes()).normal_(0.0, 1.0, gen);
        if (norm && item.key().ends_with("weight")) {
            p.copy_(1.0 + 0.2 * noise);
        } else {
            p.copy_((norm ? 0.1 : 0.08) * noise);
        }
    }
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

struct ExportCase {
    config::ModelFamily family;
    int vocab;
    bool tie;
    bool fused = false;  // Llama: fused q|k|v and gate|up, exported split
};

class ExportTest : public InteropTest, public ::testing::WithParamInterface<ExportCase> {};

TEST_P(ExportTest, TransformersReproducesOurLogits) {
    const auto [family, vocab, tie, fused] = GetParam();
    auto model = model::create_model(small(family, vocab, tie, fused), 11);
    randomise(*model, 12);
    model->eval();
    export_hf(*model, dir_ / "hf", "");
    EXPECT_TRUE(fs::exists(dir_ / "hf" / "config.json"));
    EXPECT_TRUE(fs::exists(dir_ / "hf" / "generation_config.json"));
    EXPECT_TRUE(fs::exists(dir_ / "hf" / "lowbit_tokenizer.json"));
    auto names = load_safetensors(dir_ / "hf" / "model.safetensors");
    EXPECT_EQ(names.find("lm_head.weight") != nullptr, !tie);
    if (family == config::ModelFamily::kLlama) {  // split as transformers expects, fused or not
        EXPECT_NE(names.find("model.layers.1.self_attn.k_proj.weight"), nullptr);
        EXPECT_NE(names.find("model.layers.1.mlp.up_proj.weight"), nullptr);
    }

    auto ids = torch::randint(0, vocab, {2, 32}, torch::kInt64);
    save_safetensors(dir_ / "ids.safetensors", {{"ids", ids}});
    python("logits '" + (dir_ / "hf").string() + "' '" + (dir_ / "ids.safetensors").string() +
           "' '" + (dir_ / "out.safetensors").string() + "'");
    if (HasFatalFailure()) {
        return;
    }
    auto theirs = load_safetensors(dir_ / "out.safetensors").at("logits");
    torch::NoGradGuard no_grad;
    auto ours = model->forward(ids);
    ASSERT_EQ(theirs.sizes(), ours.sizes());
    EXPECT_LT(max_abs_diff(ours, theirs), kTolerance);
    EXPECT_GT(ours.abs().max().item<double>(), 0.1);  // the comparison is not trivially of zeros

    // And back: importing our own export gives the same model.
    auto imported = import_hf(dir_ / "hf");
    EXPECT_EQ(imported.config, model->config());
    EXPECT_LT(max_abs_diff(imported.model->forward(ids), ours), 1e-6);

    // A fused Llama through transformers and back: its save_pretrained keeps the split tensors
    // and the config keys that make the import fuse them again.
    if (!fused) {
        return;
    }
    python("resave '" + (dir_ / "hf").string() + "' '" + (dir_ / "resaved").string() + "'");
    if (HasFatalFailure()) {
        return;
    }
    auto resaved = import_hf(dir_ / "resaved");
    EXPECT_TRUE(resaved.config.fused_qkv);
    EXPECT_TRUE(resaved.config.fused_gate_up);
    EXPECT_EQ(resaved.config, model->config());
    EXPECT_LT(max_abs_diff(resaved.model->forward(ids), ours), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Models,
    ExportTest,
    ::testing::Values(ExportCase{config::ModelFamily::kGpt2, 256, true},
                      ExportCase{config::ModelFamily::kGpt2, 300, false},
                      ExportCase{config::ModelFamily::kLlama, 256, false},
                      ExportCase{config::ModelFamily::kLlama, 300, true},
                      ExportCase{config::ModelFamily::kLlama, 256, false, true},
                      ExportCase{config::ModelFamily::kLlama, 300, true, true}),
    [](const auto& test_param) {
        return std::string(model::family_name(test_param.param.family)) + "_v" +
               std::to_string(test_param.param.vocab) +
               (test_param.param.tie ? "_tied" : "_untied") +
               (test_param.param.fused ? "_fused" : "");
    });

struct ImportCase {
    const char* family;
    int vocab;
    bool tie;
};

class ImportTest : public InteropTest, public ::testing::WithParamInterface<ImportCase> {};

TEST_P(ImportTest, OurLogitsMatchTransformers) {
    const auto [family, vocab, tie] = GetParam();
    python(std::string("create ") + family + " '" + (dir_ / "hf").string() + "' " +
           std::to_string(vocab) + " " + (tie ? "1" : "0") + " 7");
    if (HasFatalFailure()) {
        return;
    }
    auto reference = load_safetensors(dir_ / "hf" / "reference.safetensors");
    fs::remove(dir_ / "hf" / "reference.safetensors");
    auto imported = import_hf(dir_ / "hf");
    EXPECT_EQ(model::family_name(imported.config.family), std::string(family));
    EXPECT_EQ(imported.config.vocab_size, vocab);
    EXPECT_EQ(imported.config.tie_embeddings, tie);
    torch::NoGradGuard no_grad;
    auto ours = imported.model->forward(reference.at("ids"));
    EXPECT_LT(max_abs_diff(ours, reference.at("logits")), kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Models,
                         ImportTest,
                         ::testing::Values(ImportCase{"gpt2", 300, true},
                                           ImportCase{"llama", 260, false}),
                         [](const auto& test_param) {
                             return std::string(test_param.param.family) + "_v" +
                                    std::to_string(test_param.param.vocab);
                         });

// Errors name the file and key or tensor (no Python needed, but kept with the interop tests).
TEST(ImportErrors, MissingKeyAndUnsupportedModelType) {
    nlohmann::json j = {
        {"model_type", "gpt2"}, {"n_layer", 2}, {"n_head", 4}, {"n_embd", 64}, {"vocab_size", 256}};
    try {
        model_config_from_hf(j, "dir/config.json");
        FAIL();
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("dir/config.json: missing key 'n_positions'"),
                  std::string::npos)
            << e.what();
    }
    j["model_type"] = "mistral";
    EXPECT_THROW(model_config_from_hf(j, "dir/config.json"), FormatError);
}

TEST(ImportErrors, WrongShapeNamesTensorAndShapes) {
    lowbit::testing::TempDir temp("hf_shape");
    const auto dir = temp.path() / "hf";
    auto model = model::create_model(small(config::ModelFamily::kLlama, 256, false), 1);
    export_hf(*model, dir, "");
    auto file = load_safetensors(dir / "model.safetensors");
    for (auto& [name, t] : file.tensors) {
        if (name == "model.layers.1.mlp.up_proj.weight") {
            t = torch::zeros({100, 64});
        }
    }
    save_safetensors(dir / "model.safetensors", file.tensors);
    try {
        import_hf(dir);
        FAIL();
    } catch (const FormatError& e) {
        EXPECT_NE(
            std::string(e.what()).find(
                "'model.layers.1.mlp.up_proj.weight' has shape [100, 64], expected [160, 64]"),
            std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace lowbit::io
