// Model + tokenizer from a checkpoint reference (see checkpoint_model.h).
#include "lowbit/train/checkpoint_model.h"

#include "lowbit/data/sha256.h"
#include "lowbit/io/model_state.h"
#include "lowbit/qat/packed_model.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/train/checkpoint.h"
#include "lowbit/train/run_context.h"
#include "lowbit/util/exit_codes.h"

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

// A packed model file (docs/efficientqat.md §Packed model file) and the tokenizer its metadata
// names, beside it.
LoadedModel load_packed_file(const fs::path& file) {
    LoadedModel loaded;
    qat::PackedModel packed = qat::load_packed_model(file);
    loaded.model = packed.model;
    loaded.checkpoint_dir = file.parent_path();
    const auto tokenizer = packed.metadata.find(qat::kTokenizerMetadataKey);
    if (tokenizer != packed.metadata.end() && tokenizer->second == "byte") {
        loaded.tokenizer = data::make_byte_tokenizer();
    } else if (tokenizer != packed.metadata.end()) {
        loaded.tokenizer_model = loaded.checkpoint_dir / tokenizer->second;
        loaded.tokenizer = data::load_sentencepiece(loaded.tokenizer_model);
    }
    return loaded;
}

}  // namespace

LoadedModel load_checkpoint_model(const std::string& reference,
                                  const std::optional<store::Workspace>& workspace) {
    if (fs::is_regular_file(reference)) {
        return load_packed_file(reference);
    }
    LoadedModel loaded;
    std::optional<std::string> checksum;
    if (fs::is_directory(reference)) {
        loaded.checkpoint_dir = reference;
    } else {
        if (!workspace) {
            throw util::BadInput("'" + reference + "' is not a checkpoint folder");
        }
        std::tie(loaded.checkpoint_dir, checksum) = resolve_checkpoint(*workspace, reference);
        loaded.run = store::RunReader(*workspace).find_run(reference);
        if (fs::is_regular_file(loaded.checkpoint_dir)) {
            // An EfficientQAT run: its newest checkpoint is its packed model file, checked
            // against the sha256 recorded with it.
            const fs::path file = loaded.checkpoint_dir;
            if (checksum && !checksum->empty() && data::sha256_file(file) != *checksum) {
                throw util::BadInput(file.string() +
                                     ": does not match the sha256 recorded for it; the file was "
                                     "changed or damaged after the run wrote it");
            }
            LoadedModel packed = load_packed_file(file);
            packed.run = std::move(loaded.run);
            return packed;
        }
    }
    const CheckpointContent content = read_checkpoint(loaded.checkpoint_dir, checksum, false);
    loaded.step = content.step;
    loaded.model = model::create_model(model::model_config_from_json(content.model_config), 0);
    load_checkpoint_weights(*loaded.model, content, loaded.checkpoint_dir);
    loaded.model->eval();
    const std::string kind = content.tokenizer.value("kind", "");
    if (kind == "byte") {
        loaded.tokenizer = data::make_byte_tokenizer();
    } else if (kind == "sentencepiece") {
        loaded.tokenizer_model = loaded.checkpoint_dir / "tokenizer.model";
        loaded.tokenizer = data::load_sentencepiece(loaded.tokenizer_model);
    }
    return loaded;
}

}  // namespace lowbit::train
