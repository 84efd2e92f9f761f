// The command line of every benchmark, parsed by CLI11: --help lists a benchmark's options, and
// an unknown option or a value out of range is refused with the CLI's bad-input exit code before
// anything is measured, so a mistyped flag cannot silently run (and report) the default
// measurement instead of the one asked for.
#pragma once

#include "lowbit/util/exit_codes.h"

#include <optional>

#include <CLI/CLI.hpp>

namespace lowbit::bench {

// Fewer rounds give no median and quartiles worth printing.
inline constexpr int kMinRounds = 3;
// The most rounds or steps an option takes: far above any real run, it catches a typo.
inline constexpr int kMaxCount = 1000000;

// --rounds: the interleaved rounds of run_interleaved (interleaved.h), default `rounds`.
inline CLI::Option* add_rounds_option(CLI::App& app, int& rounds) {
    return app.add_option("--rounds", rounds, "Interleaved rounds")
        ->check(CLI::Range(kMinRounds, kMaxCount))
        ->capture_default_str();
}

// std::nullopt: measure. Otherwise the exit code of the process: util::kExitOk after --help,
// util::kExitBadInput for a command line CLI11 refused (its message is printed first).
inline std::optional<int> parse_options(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? util::kExitOk : util::kExitBadInput;
    }
    return std::nullopt;
}

}  // namespace lowbit::bench
