// Internal checkpoints: model_state -> safetensors -> load_model_state reproduces the logits, and
// the strict loader names missing, unexpected and mis-shaped tensors.
#include "lowbit/io/model_state.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

namespace lowbit::io {
namespace {

model::ModelConfig small(config::ModelFamily family, bool tie) {
    model::ModelConfig c;
    c.family = family;
    c.layers = 2;
    c.heads = 2;
    c.d_model = 16;
    c.d_ff = 48;
    c.context = 8;
    c.vocab_size = 40;
    c.tie_embeddings = tie;
    return c;
}

std::string load_error(model::LanguageModelImpl& m, SafetensorsFile file) {
    try {
        load_model_state(m, file);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "";
}

TEST(ModelState, RoundTripReproducesLogits) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("lowbit_state_" + std::to_string(::getpid()) + ".safetensors");
    for (auto family : {config::ModelFamily::kGpt2, config::ModelFamily::kLlama}) {
        for (bool tie : {false, true}) {
            auto a = model::create_model(small(family, tie), 1);
            auto b = model::create_model(small(family, tie), 2);
            save_safetensors(path, model_state(*a));
            load_model_state(*b, load_safetensors(path));
            auto ids = torch::randint(0, 40, {2, 8}, torch::kInt64);
            EXPECT_TRUE(torch::equal(a->forward(ids), b->forward(ids)));
            if (tie) {  // the tie survives loading
                auto head = b->linears().back();
                EXPECT_EQ(head->weight().data_ptr(),
                          b->named_parameters()["tok_emb.weight"].data_ptr());
            }
        }
    }
    std::filesystem::remove(path);
}

TEST(ModelState, StrictLoaderNamesTheTensor) {
    auto m = model::create_model(small(config::ModelFamily::kLlama, false), 1);
    SafetensorsFile file;
    file.path = "ckpt.safetensors";
    file.tensors = model_state(*m);
    auto before = m->named_parameters()["norm_f.weight"].clone();

    auto missing = file;
    missing.tensors.erase(missing.tensors.begin() + 3);
    auto msg = load_error(*m, missing);
    EXPECT_NE(msg.find("missing tensor '" + file.tensors[3].first + "'"), std::string::npos) << msg;

    auto extra = file;
    extra.tensors.emplace_back("blocks.9.attn.q.weight", torch::zeros({16, 16}));
    msg = load_error(*m, extra);
    EXPECT_NE(msg.find("unexpected tensor 'blocks.9.attn.q.weight'"), std::string::npos) << msg;

    auto shaped = file;
    for (auto& [name, t] : shaped.tensors) {
        if (name == "norm_f.weight") {
            t = torch::zeros({17});
        }
    }
    msg = load_error(*m, shaped);
    EXPECT_NE(msg.find("'norm_f.weight' has shape [17], expected [16]"), std::string::npos) << msg;
    EXPECT_TRUE(torch::equal(m->named_parameters()["norm_f.weight"], before));
}

}  // namespace
}  // namespace lowbit::io
