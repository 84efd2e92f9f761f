// DistributedCliTest helpers (distributed_cli_fixture.h).
#include "distributed_cli_fixture.h"

#include "lowbit/io/safetensors.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sstream>
#include <thread>

namespace lowbit::testing {
namespace fs = std::filesystem;

fs::path DistributedCliTest::gpt2_recipe(const std::string& name,
                                         int steps,
                                         int checkpoint_every,
                                         const std::string& quant) const {
    std::ostringstream text;
    text << "name: " << name << "\nseed: 1\n"
         << "model: {family: gpt2, layers: 4, heads: 4, d_model: 128, context: 64, dropout: 0.0}\n"
         << "data: {train: builtin:markov, tokenizer: byte}\n"
         << "train: {steps: " << steps << ", batch_size: 12, lr: 1.0e-3, min_lr: 1.0e-4, "
         << "warmup_steps: 10, grad_clip: 1.0, eval_every: 25, eval_batches: 4, "
         << "checkpoint_every: " << checkpoint_every
         << ", device: cpu, threads: 1, log_every: 1}\n";
    if (!quant.empty()) {
        text << "quant:\n" << quant;
    }
    return write_file(name + ".yaml", text.str());
}

ProcessResult DistributedCliTest::train(const fs::path& recipe,
                                        const fs::path& workspace,
                                        int nproc,
                                        std::vector<std::string> extra) const {
    std::vector<std::string> args{"train", recipe.string(), "--progress", "none"};
    if (nproc > 0) {
        args.insert(args.end(), {"--nproc-per-node", std::to_string(nproc)});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return lowbit(args, workspace);
}

std::vector<BackgroundProcess> DistributedCliTest::start_ranks(
    const std::vector<std::vector<std::string>>& environments,
    const fs::path& recipe,
    const fs::path& workspace,
    const std::vector<std::string>& extra) const {
    std::vector<BackgroundProcess> ranks;
    for (std::size_t rank = 0; rank < environments.size(); ++rank) {
        std::vector<std::string> argv{"/usr/bin/env"};
        argv.insert(argv.end(), environments[rank].begin(), environments[rank].end());
        argv.insert(argv.end(),
                    {lowbit_exe(),
                     "train",
                     recipe.string(),
                     "--progress",
                     "none",
                     "--workspace",
                     workspace.string()});
        argv.insert(argv.end(), extra.begin(), extra.end());
        ranks.push_back(start_process(argv, (dir_ / ("rank" + std::to_string(rank))).string()));
    }
    return ranks;
}

ProcessResult DistributedCliTest::train_two_ranks_and_stop(
    const fs::path& recipe,
    const fs::path& workspace,
    int logged_steps,
    const std::vector<std::string>& extra) const {
    std::vector<std::string> argv{lowbit_exe(),
                                  "train",
                                  recipe.string(),
                                  "--progress",
                                  "none",
                                  "--nproc-per-node",
                                  "2",
                                  "--workspace",
                                  workspace.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const BackgroundProcess launcher = start_process(argv, (dir_ / "launcher").string());
    const fs::path db = workspace / "runs.sqlite";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline &&
           !(fs::exists(db) && query_int(db,
                                         "SELECT count(*) FROM scalars WHERE key = "
                                         "'train/loss'") >= logged_steps)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(launcher.pid, SIGTERM);
    return wait_process(launcher);
}

double DistributedCliTest::expect_same_training(
    const fs::path& a, const fs::path& b, int steps, std::size_t evals, double tolerance) {
    const std::vector<double> a_losses = losses(a);
    const std::vector<double> b_losses = losses(b);
    EXPECT_EQ(a_losses.size(), static_cast<std::size_t>(steps));
    EXPECT_EQ(b_losses.size(), a_losses.size());
    if (b_losses.size() == a_losses.size()) {
        EXPECT_LT(max_relative_deviation(a_losses, b_losses), tolerance);
    }
    const std::vector<double> a_val = losses(a, "val/loss");
    const std::vector<double> b_val = losses(b, "val/loss");
    EXPECT_EQ(a_val.size(), evals);
    EXPECT_EQ(b_val.size(), a_val.size());
    if (b_val.size() == a_val.size()) {
        EXPECT_LT(max_relative_deviation(a_val, b_val), tolerance);
    }
    const double weight_deviation = relative_deviation(weights(a, steps), weights(b, steps));
    EXPECT_LT(weight_deviation, tolerance);
    return weight_deviation;
}

std::vector<double> DistributedCliTest::losses(const fs::path& workspace, const std::string& key) {
    std::vector<double> out;
    std::istringstream rows(scalar_series(workspace / "runs.sqlite", key));
    long long step = 0;
    double value = 0;
    while (rows >> step >> value) {
        out.push_back(value);
    }
    return out;
}

torch::Tensor DistributedCliTest::weights(const fs::path& workspace, int step) {
    char folder[32];
    std::snprintf(folder, sizeof(folder), "step-%07d", step);
    const io::SafetensorsFile file = io::load_safetensors(workspace / "runs" / "1" / "checkpoints" /
                                                          folder / "model.safetensors");
    std::vector<torch::Tensor> flat;
    for (const auto& [name, tensor] : file.tensors) {
        flat.push_back(tensor.to(torch::kFloat64).reshape({-1}));
    }
    return torch::cat(flat);
}

double DistributedCliTest::max_relative_deviation(const std::vector<double>& a,
                                                  const std::vector<double>& b) {
    double worst = 0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        worst = std::max(worst, std::fabs(a[i] - b[i]) / std::fabs(a[i]));
    }
    return worst;
}

double DistributedCliTest::relative_deviation(const torch::Tensor& a, const torch::Tensor& b) {
    return (a - b).norm().item<double>() / a.norm().item<double>();
}

}  // namespace lowbit::testing
