// Model + tokenizer from a checkpoint reference (see checkpoint_model.h).
#include "lowbit/train/checkpoint_model.h"

#include "lowbit/io/model_state.h"
#include "lowbit/qat/packed_model.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/train/checkpoint.h"
#include "lowbit/train/run_context.h"
#include "lowbit/util/exit_codes.h"

namespace lowbit::train {
namespace fs = std::filesystem;

LoadedModel load_checkpoint_model(const std::string& reference,
                                  const std::optional<store::Workspace>& workspace) {
    LoadedModel loaded;
    if (fs::is_regular_file(reference)) {
        // A packed model file (docs/efficientqat.md §Packed model file).
        qat::PackedModel packed = qat::load_packed_model(reference);
        loaded.model = packed.model;
        loaded.checkpoint_dir = fs::path(reference).parent_path();
        const auto tokenizer = packed.metadata.find(qat::kTokenizerMetadataKey);
        if (tokenizer != packed.metadata.end() && tokenizer->second == "byte") {
            loaded.tokenizer = data::make_byte_tokenizer();
        } else if (tokenizer != packed.metadata.end()) {
            loaded.tokenizer_model = loaded.checkpoint_dir / tokenizer->second;
            loaded.tokenizer = data::load_sentencepiece(loaded.tokenizer_model);
        }
        return loaded;
    }
    std::optional<std::string> checksum;
    if (fs::is_directory(reference)) {
        loaded.checkpoint_dir = reference;
    } else {
        if (!workspace) {
            throw util::BadInput("'" + reference + "' is not a checkpoint folder");
        }
        std::tie(loaded.checkpoint_dir, checksum) = resolve_checkpoint(*workspace, reference);
        loaded.run = store::RunReader(*workspace).find_run(reference);
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
