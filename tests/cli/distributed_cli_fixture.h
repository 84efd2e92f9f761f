// Shared by the data-parallel CLI tests: the tiny GPT-2 of the presets at 1 thread per rank, the
// series and final weights a run recorded, and their relative deviations.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../support/loopback_port.h"
#include "cli_fixture.h"

namespace lowbit::testing {

class DistributedCliTest : public CliTest {
protected:
    // The presets' tiny GPT-2 (4 layers, d_model 128, context 64) at global batch 12 on
    // builtin:markov, 1 thread per process, `quant` appended as the recipe's quant: section.
    std::filesystem::path gpt2_recipe(const std::string& name,
                                      int steps,
                                      int checkpoint_every,
                                      const std::string& quant) const;

    // `lowbit train RECIPE --nproc-per-node N` (N = 0: a plain single process).
    ProcessResult train(const std::filesystem::path& recipe,
                        const std::filesystem::path& workspace,
                        int nproc,
                        std::vector<std::string> extra = {}) const;

    // One `lowbit train RECIPE --progress none --workspace WORKSPACE EXTRA...` per entry of
    // `environments` (its VAR=value list set for that process), in the background; logs under
    // the test folder as rank<i>.{out,err}.
    std::vector<BackgroundProcess> start_ranks(
        const std::vector<std::vector<std::string>>& environments,
        const std::filesystem::path& recipe,
        const std::filesystem::path& workspace,
        const std::vector<std::string>& extra = {}) const;

    // `lowbit train RECIPE --progress none --nproc-per-node 2 --workspace WORKSPACE EXTRA...`
    // in the background, sent SIGTERM once it has logged `logged_steps` training losses (or
    // after two minutes); its result.
    ProcessResult train_two_ranks_and_stop(const std::filesystem::path& recipe,
                                           const std::filesystem::path& workspace,
                                           int logged_steps,
                                           const std::vector<std::string>& extra = {}) const;

    // `key` (train/loss, val/loss) of run 1 by step.
    static std::vector<double> losses(const std::filesystem::path& workspace,
                                      const std::string& key = "train/loss");
    // Every weight of run 1's checkpoint at `step`, flattened into one float64 vector.
    static torch::Tensor weights(const std::filesystem::path& workspace, int step);

    // Expects run 1 of workspaces a and b to have logged `steps` training losses and `evals`
    // validation losses each, pairwise within `tolerance` relative, and its final weights (at
    // `steps`) within `tolerance` relative L2; returns that weight deviation.
    static double expect_same_training(const std::filesystem::path& a,
                                       const std::filesystem::path& b,
                                       int steps,
                                       std::size_t evals,
                                       double tolerance);

    // max over i of |a_i - b_i| / |a_i| (equal lengths asserted by the caller).
    static double max_relative_deviation(const std::vector<double>& a,
                                         const std::vector<double>& b);
    // ||a - b|| / ||a||.
    static double relative_deviation(const torch::Tensor& a, const torch::Tensor& b);
};

// 8-bit weights per channel, activations and output gradients per token; the optimizer's m and
// v stored at 8 bits per channel (v as sqrt(v)).
inline constexpr const char* kW8A8G8QuantizedAdam =
    "  weight: {bits: 8, granularity: per_channel}\n"
    "  activation: {bits: 8, granularity: per_token}\n"
    "  grad_output: {bits: 8, granularity: per_token}\n"
    "  optim_m: {bits: 8, granularity: per_channel}\n"
    "  optim_v: {bits: 8, granularity: per_channel}\n"
    "  optim_v_mapping: sqrt\n";

}  // namespace lowbit::testing
