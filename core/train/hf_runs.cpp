// Export to and import from Hugging Face folders, recorded in the workspace (see hf_runs.h).
#include "lowbit/train/hf_runs.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/data/sha256.h"
#include "lowbit/io/hf_export.h"
#include "lowbit/io/hf_import.h"
#include "lowbit/io/model_state.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/train/checkpoint.h"
#include "lowbit/train/checkpoint_model.h"
#include "lowbit/util/build_info.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t folder_bytes(const fs::path& dir) {
    int64_t bytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            bytes += static_cast<int64_t>(entry.file_size());
        }
    }
    return bytes;
}

}  // namespace

fs::path export_hf_folder(const std::string& reference,
                          const std::optional<fs::path>& workspace_root,
                          const fs::path& out_dir) {
    std::optional<store::Workspace> workspace;
    if (workspace_root && !fs::exists(reference)) {
        workspace.emplace(store::Workspace::open(*workspace_root));
    }
    const LoadedModel loaded = load_checkpoint_model(reference, workspace);
    io::export_hf(*loaded.model, out_dir, loaded.tokenizer_model);
    if (loaded.run && workspace) {
        store::RunWriter writer(*workspace);
        store::FileRecord artifact;
        artifact.run_id = loaded.run->id;
        artifact.step = loaded.step;
        artifact.kind = "hf-export";
        artifact.path = fs::absolute(out_dir).string();
        artifact.bytes = folder_bytes(out_dir);
        artifact.sha256 = data::sha256_file(out_dir / "model.safetensors");
        artifact.created_at = unix_now();
        writer.add_artifact(artifact);
    }
    return out_dir;
}

ImportResult import_hf_folder(const fs::path& workspace_root,
                              const fs::path& hf_dir,
                              const std::string& name) {
    // Read and validate everything before the workspace is touched.
    io::ImportedModel imported = io::import_hf(hf_dir);
    store::Workspace workspace = store::Workspace::open(workspace_root);
    store::RunWriter writer(workspace);

    config::Recipe recipe;
    recipe.name = name.empty() ? hf_dir.filename().string() : name;
    const model::ModelConfig& mc = imported.model->config();
    recipe.model.family = mc.family;
    recipe.model.layers = mc.layers;
    recipe.model.heads = mc.heads;
    recipe.model.d_model = mc.d_model;
    recipe.model.d_ff = mc.d_ff;
    recipe.model.context = mc.context;
    recipe.model.vocab_size = mc.vocab_size;
    recipe.model.tie_embeddings = mc.tie_embeddings;
    recipe.model.norm_eps = mc.norm_eps;
    recipe.model.rope_theta = mc.rope_theta;

    store::RunRecord record;
    record.name = recipe.name;
    record.kind = "import";
    record.recipe_json = config::recipe_to_json(recipe).dump();
    record.host = util::host_name();
    record.build_info_json = util::build_info_json();
    record.notes = "imported from " + fs::absolute(hf_dir).string();
    const int64_t run_id = writer.create_run(record);

    CheckpointContent content;
    content.step = 0;
    content.model_config = model::to_json(mc);
    fs::path tokenizer_model;
    if (fs::exists(hf_dir / "tokenizer.model")) {
        tokenizer_model = hf_dir / "tokenizer.model";
        content.tokenizer = {{"kind", "sentencepiece"}, {"model", "tokenizer.model"}};
    } else if (fs::exists(hf_dir / "lowbit_tokenizer.json")) {
        content.tokenizer = {{"kind", "byte"}, {"vocab_size", 256}};
    } else {
        content.tokenizer = {{"kind", "none"}};
    }
    content.model = io::model_state(*imported.model);
    const fs::path dir = checkpoint_dir_name(workspace.run_dir(run_id), 0);
    const WrittenCheckpoint written = write_checkpoint(dir, content, tokenizer_model);
    store::FileRecord checkpoint;
    checkpoint.run_id = run_id;
    checkpoint.step = 0;
    checkpoint.kind = "checkpoint";
    checkpoint.path = fs::relative(written.dir, workspace.root()).string();
    checkpoint.bytes = written.bytes;
    checkpoint.sha256 = written.manifest_sha256;
    checkpoint.created_at = unix_now();
    writer.add_checkpoint(checkpoint);
    nlohmann::json summary = {{"parameters", imported.model->parameter_count()},
                              {"imported_from", fs::absolute(hf_dir).string()}};
    writer.set_summary(run_id, summary.dump());
    writer.set_status(run_id, store::RunStatus::kCompleted);

    ImportResult result;
    result.run_id = run_id;
    result.checkpoint_dir = written.dir;
    result.parameters = imported.model->parameter_count();
    result.family = config::to_string(mc.family);
    return result;
}

}  // namespace lowbit::train
