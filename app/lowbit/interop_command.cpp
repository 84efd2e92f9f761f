// `lowbit export RUN|CHECKPOINT --format hf --out DIR` and `lowbit import HF_DIR`.
#include "lowbit/train/hf_runs.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

void add_interop_commands(CLI::App& app, CommonOptions& common, int& exit_code) {
    struct ExportOptions {
        std::string reference;
        std::string format = "hf";
        std::string out;
    };

    auto export_options = std::make_shared<ExportOptions>();
    CLI::App* exp = app.add_subcommand("export", "Write a Hugging Face-compatible model folder");
    exp->add_option("reference", export_options->reference, "Run id/name or checkpoint folder")
        ->required();
    exp->add_option("--format", export_options->format, "hf")->check(CLI::IsMember({"hf"}));
    exp->add_option("--out", export_options->out, "Output folder")->required();
    exp->add_option("--workspace,-w", common.workspace, "Workspace folder");
    exp->callback([export_options, &common, &exit_code] {
        const auto dir = train::export_hf_folder(
            export_options->reference, resolve_workspace(common), export_options->out);
        std::printf("exported %s to %s\n", export_options->reference.c_str(), dir.c_str());
        exit_code = 0;
    });

    struct ImportOptions {
        std::string dir;
        std::string name;
    };

    auto import_options = std::make_shared<ImportOptions>();
    CLI::App* imp = app.add_subcommand(
        "import", "Bring a Hugging Face GPT-2 or Llama folder into the workspace");
    imp->add_option("dir", import_options->dir, "Folder with config.json and model.safetensors")
        ->required();
    imp->add_option("--name", import_options->name, "Run name (default: the folder name)");
    imp->add_option("--workspace,-w", common.workspace, "Workspace folder");
    imp->callback([import_options, &common, &exit_code] {
        const train::ImportResult result = train::import_hf_folder(
            resolve_workspace(common), import_options->dir, import_options->name);
        std::printf("imported %s (%s, %lld parameters) as run %lld; checkpoint %s\n",
                    import_options->dir.c_str(),
                    result.family.c_str(),
                    static_cast<long long>(result.parameters),
                    static_cast<long long>(result.run_id),
                    result.checkpoint_dir.c_str());
        exit_code = 0;
    });
}

}  // namespace lowbit::app
