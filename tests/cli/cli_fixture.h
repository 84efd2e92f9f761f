// Shared fixture of the CLI tests: a temporary folder, recipe writing, running lowbit with a
// workspace, and a logical dump of a workspace database used to prove nothing was changed.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "process_runner.h"

namespace lowbit::testing {

class CliTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    std::filesystem::path write_file(const std::string& name, const std::string& text) const;
    // A tiny, fast recipe on builtin:markov; `extra` is appended (YAML) to override sections.
    std::string tiny_recipe(int steps, int checkpoint_every) const;
    ProcessResult lowbit(std::vector<std::string> args,
                         const std::filesystem::path& workspace) const;
    // Every row of runs, scalars, events and checkpoints, as text (order by primary key).
    static std::string dump_database(const std::filesystem::path& database);
    static std::string dump_files(
        const std::filesystem::path& folder);  // path + size + content hash

    std::filesystem::path dir_;
};

}  // namespace lowbit::testing
