#include "compare/compare_runs.h"

#include <algorithm>

namespace lowbit::ui {

std::vector<CompareRun> read_compare_runs(const store::RunReader& reader,
                                          const std::vector<int64_t>& run_ids) {
    std::vector<CompareRun> runs;
    for (int64_t id : run_ids) {
        auto record = reader.find_run(id);
        if (!record) {
            continue;
        }
        CompareRun run;
        run.recipe = read_recipe_column(record->recipe_json);
        run.results = store::run_results(reader, id);
        run.record = std::move(*record);
        runs.push_back(std::move(run));
    }
    return runs;
}

}  // namespace lowbit::ui
