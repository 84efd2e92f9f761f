// read_launch_environment: torchrun's and Slurm's variables, their precedence, and the errors a
// wrong job script gets (each naming the variable).
#include "lowbit/dist/launch_environment.h"

#include "lowbit/util/exit_codes.h"

#include <gtest/gtest.h>

#include <map>

namespace lowbit::dist {
namespace {

EnvironmentLookup lookup_in(std::map<std::string, std::string> variables) {
    return
        [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
            const auto found = variables.find(name);
            if (found == variables.end()) {
                return std::nullopt;
            }
            return found->second;
        };
}

std::string error_of(std::map<std::string, std::string> variables) {
    try {
        read_launch_environment(lookup_in(std::move(variables)));
    } catch (const util::BadInput& e) {
        return e.what();
    }
    return "";
}

TEST(LaunchEnvironment, NoVariablesIsOneProcess) {
    const LaunchEnvironment env = read_launch_environment(lookup_in({}));
    EXPECT_EQ(env.world_size, 1);
    EXPECT_EQ(env.rank, 0);
    EXPECT_FALSE(env.distributed());
    EXPECT_EQ(env.launcher, "none");
}

TEST(LaunchEnvironment, TorchrunVariables) {
    const LaunchEnvironment env =
        read_launch_environment(lookup_in({{"RANK", "3"},
                                           {"WORLD_SIZE", "4"},
                                           {"LOCAL_RANK", "1"},
                                           {"MASTER_ADDR", "node7"},
                                           {"MASTER_PORT", "29411"},
                                           {"TORCHELASTIC_USE_AGENT_STORE", "True"}}));
    EXPECT_EQ(env.launcher, "torchrun");
    EXPECT_EQ(env.rank, 3);
    EXPECT_EQ(env.world_size, 4);
    EXPECT_EQ(env.local_rank, 1);
    EXPECT_EQ(env.master_addr, "node7");
    EXPECT_EQ(env.master_port, 29411);
    EXPECT_TRUE(env.agent_store);
    EXPECT_TRUE(env.distributed());
}

TEST(LaunchEnvironment, SlurmVariablesWithDefaultPort) {
    const LaunchEnvironment env = read_launch_environment(lookup_in({{"SLURM_PROCID", "5"},
                                                                     {"SLURM_NTASKS", "8"},
                                                                     {"SLURM_LOCALID", "1"},
                                                                     {"MASTER_ADDR", "10.0.0.2"}}));
    EXPECT_EQ(env.launcher, "slurm");
    EXPECT_EQ(env.rank, 5);
    EXPECT_EQ(env.world_size, 8);
    EXPECT_EQ(env.local_rank, 1);
    EXPECT_EQ(env.master_port, 29500);  // torchrun's default port, when the script sets none
    EXPECT_FALSE(env.agent_store);
}

TEST(LaunchEnvironment, TorchrunVariablesWinOverSlurm) {
    // torchrun started inside a Slurm allocation: its own variables describe the job.
    const LaunchEnvironment env = read_launch_environment(lookup_in({{"RANK", "1"},
                                                                     {"WORLD_SIZE", "2"},
                                                                     {"LOCAL_RANK", "1"},
                                                                     {"MASTER_ADDR", "127.0.0.1"},
                                                                     {"SLURM_PROCID", "0"},
                                                                     {"SLURM_NTASKS", "1"}}));
    EXPECT_EQ(env.launcher, "torchrun");
    EXPECT_EQ(env.rank, 1);
    EXPECT_EQ(env.world_size, 2);
}

TEST(LaunchEnvironment, OneSlurmTaskNeedsNoMaster) {
    const LaunchEnvironment env =
        read_launch_environment(lookup_in({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}));
    EXPECT_FALSE(env.distributed());
}

TEST(LaunchEnvironment, ErrorsNameTheVariable) {
    EXPECT_NE(error_of({{"WORLD_SIZE", "two"}, {"RANK", "0"}}).find("WORLD_SIZE='two'"),
              std::string::npos);
    EXPECT_NE(error_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}}).find("RANK=2"),
              std::string::npos);
    EXPECT_NE(error_of({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("RANK is not set"),
              std::string::npos);
    EXPECT_NE(error_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}}).find("MASTER_ADDR"),
              std::string::npos);
    EXPECT_NE(
        error_of(
            {{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
            .find("MASTER_PORT=70000"),
        std::string::npos);
    EXPECT_NE(error_of({{"SLURM_NTASKS", "0"}, {"SLURM_PROCID", "0"}}).find("SLURM_NTASKS=0"),
              std::string::npos);
    EXPECT_NE(error_of({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "-1"}, {"MASTER_ADDR", "h"}})
                  .find("SLURM_PROCID=-1"),
              std::string::npos);
}

}  // namespace
}  // namespace lowbit::dist
