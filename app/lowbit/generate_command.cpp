// `lowbit generate REFERENCE [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]
// [--seed S] [--tokenizer FILE|byte] [--device D]`: sample text from a checkpoint folder, a run's
// latest checkpoint, or a packed model file (docs/efficientqat.md §Generating text).
#include "lowbit/data/tokenizer.h"
#include "lowbit/eval/checkpoint_eval.h"
#include "lowbit/eval/text_generation.h"
#include "lowbit/qat/packed_linear.h"
#include "lowbit/store/open_for_reading.h"
#include "lowbit/train/checkpoint_model.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>
#include <filesystem>

#include "commands.h"

namespace lowbit::app {

namespace {

namespace fs = std::filesystem;

struct GenerateOptions {
    std::string reference;
    std::string prompt = "\n";
    int64_t tokens = 200;
    double temperature = 0.8;
    int64_t top_k = 0;
    uint64_t seed = 1;
    std::string tokenizer;
    std::string device = "auto";
};

struct GenerationSource {
    std::shared_ptr<model::LanguageModelImpl> model;
    std::unique_ptr<data::Tokenizer> tokenizer;
};

// A tokenizer option: "byte", or a SentencePiece tokenizer.model file.
std::unique_ptr<data::Tokenizer> tokenizer_from_option(const std::string& option) {
    if (option == "byte") {
        return data::make_byte_tokenizer();
    }
    if (!fs::is_regular_file(option)) {
        throw util::BadInput("--tokenizer: '" + option +
                             "' is neither 'byte' nor a tokenizer.model file");
    }
    return data::load_sentencepiece(option);
}

GenerationSource load_source(const GenerateOptions& options, const CommonOptions& common) {
    std::optional<store::Workspace> workspace;
    if (!fs::exists(options.reference)) {
        // Generating writes nothing: a missing workspace is an error, not created.
        workspace.emplace(store::open_for_reading(resolve_workspace(common)));
    }
    train::LoadedModel loaded = train::load_checkpoint_model(options.reference, workspace);
    GenerationSource source;
    source.model = loaded.model;
    if (!options.tokenizer.empty()) {
        source.tokenizer = tokenizer_from_option(options.tokenizer);
    } else if (loaded.tokenizer) {
        source.tokenizer = std::move(loaded.tokenizer);
    } else {
        throw util::BadInput(options.reference +
                             ": no tokenizer is recorded with this model; name it with "
                             "--tokenizer (byte, or the source run's tokenizer.model)");
    }
    return source;
}

int run_generate(const GenerateOptions& options, const CommonOptions& common) {
    GenerationSource source = load_source(options, common);
    const torch::Device device = eval::pick_device(options.device);
    qat::move_model(*source.model, device);
    std::vector<int64_t> prompt;
    for (const uint32_t id : source.tokenizer->encode(options.prompt)) {
        prompt.push_back(id);
    }
    if (prompt.empty()) {
        throw util::BadInput("--prompt: the text encodes to no tokens");
    }
    eval::SamplingOptions sampling;
    sampling.new_tokens = options.tokens;
    sampling.temperature = options.temperature;
    sampling.top_k = options.top_k;
    sampling.seed = options.seed;
    const std::vector<int64_t> generated =
        eval::sample_tokens(*source.model, prompt, source.tokenizer->vocab_size(), sampling);
    std::vector<uint32_t> ids(generated.begin(), generated.end());
    const std::string text = options.prompt + source.tokenizer->decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return util::kExitOk;
}

}  // namespace

void add_generate_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    auto options = std::make_shared<GenerateOptions>();
    CLI::App* cmd = app.add_subcommand(
        "generate", "Sample text from a checkpoint, a run, or a packed model file");
    cmd->add_option("reference",
                    options->reference,
                    "Checkpoint folder, run id/name, or packed model file (.safetensors)")
        ->required();
    cmd->add_option("--prompt", options->prompt, "Text to continue (default: a newline)");
    cmd->add_option("--tokens", options->tokens, "New tokens to sample")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
    cmd->add_option("--temperature", options->temperature, "0 = greedy; higher = more random")
        ->check(CLI::Range(0.0, 100.0));
    cmd->add_option("--top-k", options->top_k, "Sample among the k most likely tokens; 0 = all")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
    cmd->add_option("--seed", options->seed, "Seed of the sampling");
    cmd->add_option("--tokenizer",
                    options->tokenizer,
                    "byte, or a tokenizer.model file (needed for a packed model file)");
    cmd->add_option("--device", options->device, "auto|cpu|cuda")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--workspace,-w", common.workspace, "Workspace folder (for a run reference)");
    cmd->callback([options, &common, &exit_code] { exit_code = run_generate(*options, common); });
}

}  // namespace lowbit::app
