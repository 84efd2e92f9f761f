// Corpus preparation: turns a recipe's data section (text files or folders, JSONL with a `text`
// field, existing token files, or builtin:markov) into train.bin / val.bin token shards with
// sidecars and, for SentencePiece, the tokenizer.model, in one output folder.
// The split is deterministic: the last val_fraction of the token stream is validation (the
// nanoGPT convention), unless the recipe names a separate validation source.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/data/token_shard.h"

#include <filesystem>
#include <string>

namespace lowbit::data {

struct PreparedData {
    std::filesystem::path dir;
    std::filesystem::path train_path;  // dir/train.bin
    std::filesystem::path val_path;    // dir/val.bin
    ShardMeta train_meta;
    ShardMeta val_meta;
};

// Checks that every file or folder the data section names exists: data.train, data.val and
// data.tokenizer_model. Throws DataError "data.train: no such file or directory: PATH". Both
// `lowbit recipe check` and the preparation below call it, so they refuse with one message.
void check_data_sources(const config::DataSpec& spec);

// Prepares into out_dir (created; files written atomically). Throws DataError on bad input:
// missing path, empty corpus, JSONL line without "text", malformed token file, ...
PreparedData prepare_corpus(const config::DataSpec& spec, const std::filesystem::path& out_dir);

// Same, but reuses cache_root/<key>/ when a previous preparation of identical inputs (content
// hashes of the input files, tokenizer settings, split) is there. Used by `lowbit train`.
PreparedData prepare_corpus_cached(const config::DataSpec& spec,
                                   const std::filesystem::path& cache_root);

}  // namespace lowbit::data
