// `lowbit data prepare INPUT... --tokenizer byte|sentencepiece --vocab-size N --out DIR`.
#include "lowbit/data/corpus.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

namespace {

struct PrepareOptions {
    std::vector<std::string> inputs;
    std::vector<std::string> val_inputs;
    std::string tokenizer = "byte";
    std::string sentencepiece_type = "bpe";
    std::string tokenizer_model;
    std::string format = "auto";
    int vocab_size = 4096;
    double val_fraction = 0.1;
    std::string out;
};

int run_prepare(const PrepareOptions& options) {
    config::DataSpec spec;
    spec.train = options.inputs;
    spec.val = options.val_inputs;
    spec.tokenizer = options.tokenizer == "sentencepiece" ? config::TokenizerKind::kSentencePiece
                                                          : config::TokenizerKind::kByte;
    spec.sentencepiece_type = options.sentencepiece_type == "unigram"
                                  ? config::SentencePieceType::kUnigram
                                  : config::SentencePieceType::kBpe;
    spec.tokenizer_model = options.tokenizer_model;
    spec.vocab_size = options.vocab_size;
    spec.val_fraction = options.val_fraction;
    const std::map<std::string, config::DataFormat> formats = {
        {"auto", config::DataFormat::kAuto},
        {"text", config::DataFormat::kText},
        {"jsonl", config::DataFormat::kJsonl},
        {"tokens", config::DataFormat::kTokens}};
    spec.format = formats.at(options.format);
    const data::PreparedData prepared = data::prepare_corpus(spec, options.out);
    std::printf("prepared %s: train %lld tokens, val %lld tokens, tokenizer %s (vocab %d)\n",
                prepared.dir.c_str(),
                static_cast<long long>(prepared.train_meta.tokens),
                static_cast<long long>(prepared.val_meta.tokens),
                prepared.train_meta.tokenizer.c_str(),
                prepared.train_meta.vocab_size);
    return 0;
}

}  // namespace

void add_data_command(CLI::App& app, int& exit_code) {
    CLI::App* data_cmd = app.add_subcommand("data", "Prepare corpora into token shards");
    data_cmd->require_subcommand(1);
    auto options = std::make_shared<PrepareOptions>();
    CLI::App* prepare = data_cmd->add_subcommand(
        "prepare",
        "Tokenize text/JSONL/token files (or builtin:markov) into train.bin and val.bin");
    prepare->add_option("inputs", options->inputs, "Files, folders or builtin:markov")->required();
    prepare->add_option(
        "--val", options->val_inputs, "Separate validation inputs (default: split off the end)");
    prepare->add_option("--tokenizer", options->tokenizer, "byte|sentencepiece")
        ->check(CLI::IsMember({"byte", "sentencepiece"}));
    prepare->add_option("--sentencepiece-type", options->sentencepiece_type, "bpe|unigram")
        ->check(CLI::IsMember({"bpe", "unigram"}));
    prepare->add_option("--tokenizer-model",
                        options->tokenizer_model,
                        "Existing tokenizer.model to use instead of training one");
    prepare->add_option("--vocab-size", options->vocab_size, "SentencePiece vocabulary size")
        ->check(CLI::Range(32, 1 << 20));
    prepare
        ->add_option("--val-fraction", options->val_fraction, "Fraction of tokens for validation")
        ->check(CLI::Range(0.0001, 0.5));
    prepare->add_option("--format", options->format, "auto|text|jsonl|tokens")
        ->check(CLI::IsMember({"auto", "text", "jsonl", "tokens"}));
    prepare->add_option("--out", options->out, "Output folder")->required();
    prepare->callback([options, &exit_code] { exit_code = run_prepare(*options); });
}

}  // namespace lowbit::app
