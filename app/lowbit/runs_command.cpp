// `lowbit runs list [--group G]`, `lowbit runs aggregate [--group G] [--markdown]`, `lowbit runs
// show RUN [--json]`, `lowbit runs export RUN --csv [--out FILE]`, `lowbit runs mark-killed`.
#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_aggregate.h"
#include "lowbit/store/run_liveness.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_report.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "commands.h"

namespace lowbit::app {

namespace {

store::Workspace open_existing(const CommonOptions& common) {
    const std::filesystem::path root = resolve_workspace(common);
    if (!std::filesystem::exists(root / "runs.sqlite")) {
        throw util::BadInput("no workspace at " + root.string() + " (no runs.sqlite there)");
    }
    return store::open_for_reading(root);
}

// All runs (newest first), or those of one group; an unknown group is an error, not silence.
std::vector<store::RunRecord> runs_of_group(const store::RunReader& reader,
                                            const std::string& group) {
    std::vector<store::RunRecord> runs = reader.list_runs();
    if (group.empty()) {
        return runs;
    }
    std::erase_if(runs, [&](const store::RunRecord& run) { return run.group_name != group; });
    if (runs.empty()) {
        throw util::BadInput("no runs in group '" + group + "'");
    }
    return runs;
}

store::RunRecord find_or_throw(const store::RunReader& reader, const std::string& reference) {
    auto run = reader.find_run(reference);
    if (!run) {
        throw util::BadInput("no run '" + reference + "' in this workspace");
    }
    return *run;
}

}  // namespace

void add_runs_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    CLI::App* runs = app.add_subcommand("runs", "List, inspect and export recorded runs");
    runs->require_subcommand(1);
    runs->add_option("--workspace,-w", common.workspace, "Workspace folder");

    auto list_group = std::make_shared<std::string>();
    CLI::App* list = runs->add_subcommand("list", "List the runs of the workspace, newest first");
    list->fallthrough();
    list->add_option("--group", *list_group, "Only the runs of this group (e.g. a sweep)");
    list->callback([&common, &exit_code, list_group] {
        const store::Workspace workspace = open_existing(common);
        store::RunReader reader(workspace);
        std::printf("%s",
                    store::format_run_table(reader, runs_of_group(reader, *list_group)).c_str());
        exit_code = 0;
    });

    auto aggregate_group = std::make_shared<std::string>();
    auto markdown = std::make_shared<bool>(false);
    CLI::App* aggregate = runs->add_subcommand(
        "aggregate",
        "Mean ± sd of the final val/loss over seeds: runs whose recipes differ only in seed");
    aggregate->fallthrough();
    aggregate->add_option("--group", *aggregate_group, "Only the runs of this group");
    aggregate->add_flag("--markdown", *markdown, "A Markdown table (for notes and reports)");
    aggregate->callback([&common, &exit_code, aggregate_group, markdown] {
        const store::Workspace workspace = open_existing(common);
        store::RunReader reader(workspace);
        const auto aggregates =
            store::aggregate_over_seeds(reader, runs_of_group(reader, *aggregate_group));
        std::printf("%s", store::format_seed_table(aggregates, *markdown).c_str());
        exit_code = 0;
    });

    auto show_ref = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* show =
        runs->add_subcommand("show", "Status, recipe, final and best metrics, checkpoints");
    show->fallthrough();
    show->add_option("run", *show_ref, "Run id or name")->required();
    show->add_flag("--json", *as_json, "Machine-readable output");
    show->callback([&common, &exit_code, show_ref, as_json] {
        const store::Workspace workspace = open_existing(common);
        store::RunReader reader(workspace);
        const nlohmann::json details =
            store::run_details_json(reader, find_or_throw(reader, *show_ref));
        if (*as_json) {
            std::printf("%s\n", details.dump(2).c_str());
        } else {
            std::printf("%s", store::format_run_details(details).c_str());
        }
        exit_code = 0;
    });

    CLI::App* mark_killed = runs->add_subcommand(
        "mark-killed",
        "Record as killed the running runs whose engine process is gone (same host: the pid is "
        "not alive; another host: no heartbeat for 5 minutes)");
    mark_killed->fallthrough();
    mark_killed->callback([&common, &exit_code] {
        const std::filesystem::path root = resolve_workspace(common);
        if (!std::filesystem::exists(root / "runs.sqlite")) {
            throw util::BadInput("no workspace at " + root.string() + " (no runs.sqlite there)");
        }
        store::Workspace workspace = store::Workspace::open(root);
        const store::LivenessCheck liveness = store::LivenessCheck::here();
        std::vector<int64_t> gone;
        for (const store::RunRecord& run : store::RunReader(workspace).list_runs()) {
            if (store::run_process_gone(run, liveness)) {
                gone.push_back(run.id);
            }
        }
        store::RunWriter writer(workspace);
        for (const int64_t id : gone) {
            writer.add_event({.run_id = id,
                              .step = 0,
                              .kind = "killed",
                              .text = "engine process gone (recorded by lowbit runs mark-killed)"});
            writer.set_status(id, store::RunStatus::kKilled);
            std::printf("run %lld marked killed\n", static_cast<long long>(id));
        }
        if (gone.empty()) {
            std::printf("no running run has lost its process\n");
        }
        exit_code = 0;
    });

    auto export_ref = std::make_shared<std::string>();
    auto csv = std::make_shared<bool>(false);
    auto out = std::make_shared<std::string>();
    CLI::App* exp = runs->add_subcommand("export", "Export a run's scalars");
    exp->fallthrough();
    exp->add_option("run", *export_ref, "Run id or name")->required();
    exp->add_flag("--csv", *csv, "CSV: step,tokens,wall_time,<one column per scalar key>")
        ->required();
    exp->add_option("--out", *out, "Output file (default: stdout)");
    exp->callback([&common, &exit_code, export_ref, out] {
        const store::Workspace workspace = open_existing(common);
        store::RunReader reader(workspace);
        const store::RunRecord run = find_or_throw(reader, *export_ref);
        if (out->empty()) {
            store::write_scalars_csv(reader, run.id, std::cout);
        } else {
            std::ofstream file(*out);
            if (!file) {
                throw util::BadInput("cannot write " + *out);
            }
            store::write_scalars_csv(reader, run.id, file);
        }
        exit_code = 0;
    });
}

}  // namespace lowbit::app
