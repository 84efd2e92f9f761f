// Parsing of the launch variables (launch_environment.h). Every error names the variable and its
// value, because a job script is where the user will have to look.
#include "lowbit/dist/launch_environment.h"

#include "lowbit/util/exit_codes.h"

#include <charconv>
#include <cstdlib>

namespace lowbit::dist {
namespace {

int parse_int(const EnvironmentLookup& lookup,
              const std::string& name,
              int minimum,
              int maximum,
              std::optional<int> fallback) {
    const std::optional<std::string> text = lookup(name);
    if (!text || text->empty()) {
        if (fallback) {
            return *fallback;
        }
        throw util::BadInput("environment variable " + name +
                             " is not set; a data-parallel launch needs it");
    }
    int value = 0;
    const char* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc() || ptr != end) {
        throw util::BadInput("environment variable " + name + "='" + *text + "' is not an integer");
    }
    if (value < minimum || value > maximum) {
        throw util::BadInput("environment variable " + name + "=" + *text + " is outside " +
                             std::to_string(minimum) + ".." + std::to_string(maximum));
    }
    return value;
}

}  // namespace

LaunchEnvironment read_launch_environment(const EnvironmentLookup& lookup) {
    LaunchEnvironment env;
    constexpr int kMaxRanks = 1 << 20;
    std::string rank_name;
    std::string local_rank_name;
    if (lookup("WORLD_SIZE")) {
        env.launcher = "torchrun";
        env.world_size = parse_int(lookup, "WORLD_SIZE", 1, kMaxRanks, std::nullopt);
        rank_name = "RANK";
        local_rank_name = "LOCAL_RANK";
    } else if (lookup("SLURM_NTASKS")) {
        env.launcher = "slurm";
        env.world_size = parse_int(lookup, "SLURM_NTASKS", 1, kMaxRanks, std::nullopt);
        rank_name = "SLURM_PROCID";
        local_rank_name = "SLURM_LOCALID";
    } else {
        return env;
    }
    env.rank = parse_int(lookup, rank_name, 0, env.world_size - 1, std::nullopt);
    // torchrun always sets LOCAL_RANK; a hand-made launch on one node may leave it out.
    env.local_rank = parse_int(lookup, local_rank_name, 0, kMaxRanks, env.rank);
    if (!env.distributed()) {
        return env;
    }
    const std::optional<std::string> addr = lookup("MASTER_ADDR");
    if (!addr || addr->empty()) {
        throw util::BadInput(
            "environment variable MASTER_ADDR is not set: with " + std::to_string(env.world_size) +
            " ranks every rank must know the host of rank 0 (torchrun sets it; under Slurm "
            "export it in the job script, see docs/distributed.md)");
    }
    env.master_addr = *addr;
    env.master_port = parse_int(lookup, "MASTER_PORT", 1, 65535, 29500);
    env.agent_store = lookup("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    return env;
}

LaunchEnvironment launch_environment_of_process() {
    return read_launch_environment([](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
            return std::nullopt;
        }
        return std::string(value);
    });
}

}  // namespace lowbit::dist
