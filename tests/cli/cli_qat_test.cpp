// `lowbit qat` end to end (docs/efficientqat.md §Run record) on a tiny GPT-2 trained here with
// `lowbit train`:
// - an EfficientQAT run records its Block-AP rows, finished blocks, phases, packed model and
//   perplexities; the recorded perplexity is the packed file's on the source's validation split,
//   recomputed here from the file; the packed bytes follow from the layer shapes;
// - RTN's packed weights are the group-wise min-max rounding of the source weights, computed here,
//   and the run's id loads its packed model in `lowbit eval` and `lowbit generate`;
// - a run stopped with SIGTERM and later killed with SIGKILL resumes block by block (a finished
//   block is never redone) and ends with the rows and the packed file of an uninterrupted run;
// - bad input is refused with exit 2 before any work, naming the key or file, the workspace
//   untouched;
// - on two ranks (`--nproc-per-node 2`) EfficientQAT and GPTQ quantize as one process does, a
//   stopped two-rank run resumes onto the uninterrupted one, and a batch the ranks cannot split
//   is refused.
#include "lowbit/eval/perplexity.h"
#include "lowbit/eval/token_file.h"
#include "lowbit/qat/packed_model.h"
#include "lowbit/train/checkpoint_model.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <sstream>
#include <string>
#include <thread>

#include "cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kLayers = 3;
constexpr int kWidth = 32;  // d_model; GPT-2's d_ff is 4x
constexpr int kContext = 32;

// The run's step counter of the tiny qat recipe below: Block-AP steps, block after block.
constexpr int kEpochs = 6;
constexpr int kSamples = 32;
constexpr int kBatch = 4;
constexpr int kStepsPerBlock = kEpochs * kSamples / kBatch;

class CliQatTest : public CliTest {
protected:
    void SetUp() override {
        CliTest::SetUp();
        workspace_ = dir_ / "ws";
        database_ = workspace_ / "runs.sqlite";
        const fs::path source = write_file(
            "source.yaml",
            "name: source\nseed: 5\n"
            "model: {family: gpt2, layers: " +
                std::to_string(kLayers) + ", heads: 2, d_model: " + std::to_string(kWidth) +
                ", context: " + std::to_string(kContext) +
                "}\n"
                "data: {train: builtin:markov, markov: {tokens: 60000}}\n"
                "train: {steps: 60, batch_size: 8, lr: 0.003, min_lr: 0.0003, warmup_steps: 5, "
                "eval_every: 60, eval_batches: 2, checkpoint_every: 60, device: cpu, "
                "threads: 1}\n");
        const ProcessResult trained =
            lowbit({"train", source.string(), "--progress", "none"}, workspace_);
        ASSERT_EQ(trained.exit_code, 0) << trained.err;
    }

    // A qat recipe on run 1 sized for seconds: `method` and `extra` (YAML lines under qat:).
    fs::path qat_recipe(const std::string& method, const std::string& extra = "") const {
        return write_file("qat-" + method + ".yaml",
                          "name: q-" + method +
                              "\nseed: 9\ntrain: {device: cpu, threads: 1}\n"
                              "qat:\n  source: '1'\n  method: " +
                              method + "\n  bits: 4\n  group_size: 16\n" +
                              "  block_ap: {samples: " + std::to_string(kSamples) +
                              ", val_samples: 8, seq_len: " + std::to_string(kContext) +
                              ", epochs: " + std::to_string(kEpochs) +
                              ", batch: " + std::to_string(kBatch) +
                              ", quant_lr: 0.001, weight_lr: 0.0001}\n"
                              "  e2e_qp: {samples: 32, seq_len: " +
                              std::to_string(kContext - 1) +
                              ", global_batch: 8, micro_batch: 4, lr: 0.0001}\n" + extra);
    }

    ProcessResult qat(const fs::path& recipe, const fs::path& workspace) const {
        return lowbit({"qat", recipe.string(), "--progress", "none"}, workspace);
    }

    // `lowbit qat RECIPE EXTRA...` on the workspace in the background, logged as LOG.{out,err}.
    BackgroundProcess start_qat(const fs::path& recipe,
                                const std::string& log,
                                const std::vector<std::string>& extra = {}) const {
        std::vector<std::string> args{lowbit_exe(),
                                      "qat",
                                      recipe.string(),
                                      "--progress",
                                      "none",
                                      "--workspace",
                                      workspace_.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return start_process(args, (dir_ / log).string());
    }

    // Waits (up to 120 s) until run 2 has recorded `blocks` finished blocks; false when the
    // process ended first.
    static bool wait_for_blocks(const fs::path& database, pid_t pid, int64_t blocks) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
            if (fs::exists(database) &&
                query_int(database,
                          "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = 'block'") >=
                    blocks) {
                return true;
            }
            if (kill(pid, 0) != 0) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        return false;
    }

    // What an uninterrupted and a resumed run must share: the Block-AP rows, the E2E-QP and
    // perplexity scalars, and the packed file's hash.
    static std::string results(const fs::path& workspace) {
        const fs::path db = workspace / "runs.sqlite";
        return query_rows(db,
                          "SELECT block, epoch, step, train_loss, val_loss, quant_lr, weight_lr "
                          "FROM block_ap WHERE run_id = 2 ORDER BY block, epoch") +
               query_rows(db,
                          "SELECT key, step, value FROM scalars WHERE run_id = 2 AND key IN "
                          "('train/loss', 'lr', 'grad_norm', 'eval/val/ppl', 'eval/val/nll') "
                          "ORDER BY key, step") +
               query_rows(db,
                          "SELECT kind, step, path, bytes, sha256 FROM checkpoints WHERE run_id = "
                          "2 ORDER BY step, kind, path");
    }

    // The values of one column (the first) that `sql` returns, in order.
    static std::vector<double> column(const fs::path& database, const std::string& sql) {
        std::istringstream rows(query_rows(database, sql));
        std::vector<double> values;
        std::string line;
        while (std::getline(rows, line)) {
            values.push_back(std::stod(line));
        }
        return values;
    }

    // `lowbit qat RECIPE --nproc-per-node 2` in a copy of the workspace with the source run.
    ProcessResult qat_on_two_ranks(const fs::path& recipe,
                                   const fs::path& workspace,
                                   std::vector<std::string> extra = {}) const {
        if (!fs::exists(workspace)) {
            fs::copy(workspace_, workspace, fs::copy_options::recursive);
        }
        std::vector<std::string> args{
            "qat", recipe.string(), "--progress", "none", "--nproc-per-node", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        return lowbit(args, workspace);
    }

    fs::path workspace_;
    fs::path database_;
};

// Each value of `b` within `relative` of the same value of `a` (equal lengths).
void expect_close(const std::vector<double>& a,
                  const std::vector<double>& b,
                  double relative,
                  const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    ASSERT_FALSE(a.empty()) << what;
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_NEAR(b[i], a[i], relative * std::abs(a[i])) << what << " #" << i;
    }
}

TEST_F(CliQatTest, EfficientQatRecordsItsPhasesBlocksPackedModelAndPerplexity) {
    const ProcessResult r = qat(qat_recipe("efficientqat"), workspace_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("eval/val/ppl"), std::string::npos) << r.out;

    EXPECT_EQ(query_text(database_,
                         "SELECT kind || ' ' || status || ' ' || parent_run_id FROM "
                         "runs WHERE id = 2"),
              "qat completed 1");
    EXPECT_EQ(query_text(database_,
                         "SELECT group_concat(substr(text, 1, instr(text, ',') - 1), ',') "
                         "FROM events WHERE run_id = 2 AND kind = 'phase'"),
              "block_ap,e2e_qp,eval");
    // One row per block and epoch, at the run's step counter.
    EXPECT_EQ(query_int(database_, "SELECT count(*) FROM block_ap WHERE run_id = 2"),
              kLayers * kEpochs);
    EXPECT_EQ(query_int(database_, "SELECT max(step) FROM block_ap WHERE run_id = 2"),
              kLayers * kStepsPerBlock);
    EXPECT_EQ(query_int(database_,
                        "SELECT count(*) FROM block_ap WHERE run_id = 2 AND NOT (val_loss >= 0 "
                        "AND train_loss >= 0 AND seconds > 0 AND peak_memory_bytes > 0)"),
              0);
    // The cosine runs from the learning rate down to lr / min_lr_factor (20) over a block's T
    // steps; an epoch records the rate its last step used, step T - 1 of the block's last epoch.
    const std::string last_lr =
        query_text(database_,
                   "SELECT quant_lr FROM block_ap WHERE run_id = 2 AND block = 0 AND epoch = " +
                       std::to_string(kEpochs));
    const double low = 0.001 / 20;
    const double at_last_step =
        low +
        (0.001 - low) *
            (1 + std::cos(M_PI * (kStepsPerBlock - 1) / static_cast<double>(kStepsPerBlock))) / 2;
    EXPECT_NEAR(std::stod(last_lr), at_last_step, 1e-12);
    EXPECT_EQ(query_int(database_,
                        "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = 'block'"),
              kLayers);
    // E2E-QP: 32 windows / 8 per step, one epoch: 4 steps after the Block-AP steps.
    EXPECT_EQ(query_int(database_,
                        "SELECT count(*) FROM scalars WHERE run_id = 2 AND key = 'train/loss'"),
              4);
    EXPECT_EQ(query_int(database_,
                        "SELECT max(step) FROM scalars WHERE run_id = 2 AND key = 'train/loss'"),
              kLayers * kStepsPerBlock + 4);

    // The recorded perplexity is the packed file's on the source's validation split.
    const fs::path packed = workspace_ / "runs" / "2" / "model.safetensors";
    ASSERT_TRUE(fs::is_regular_file(packed));
    EXPECT_EQ(query_text(database_,
                         "SELECT path FROM checkpoints WHERE run_id = 2 AND kind = "
                         "'packed_model'"),
              "runs/2/model.safetensors");
    const qat::PackedModel loaded = qat::load_packed_model(packed);
    const std::string data_dir = query_text(
        database_, "SELECT json_extract(summary_json, '$.data_dir') FROM runs WHERE id = 1");
    const std::vector<int64_t> tokens = eval::read_token_file(
        fs::path(data_dir) / "val.bin", nullptr, loaded.model->config().vocab_size);
    const eval::PerplexityResult expected = eval::evaluate_perplexity(
        *loaded.model, tokens, kContext, 8, torch::Device(torch::kCPU), config::Precision::kFp32);
    const std::string recorded = query_text(
        database_, "SELECT value FROM scalars WHERE run_id = 2 AND key = 'eval/val/ppl'");
    ASSERT_FALSE(recorded.empty());
    EXPECT_NEAR(std::stod(recorded), expected.perplexity, 1e-6 * expected.perplexity);

    // Bytes of the packed block linears at 4 bits, group 16: codes 4 bits each; per group and
    // output one fp16 step and a 4-bit zero point; one int32 group index per input column.
    int64_t bytes = 0;
    int64_t weights = 0;
    for (const auto& [in, out] : {std::pair{kWidth, 3 * kWidth},
                                  std::pair{kWidth, kWidth},
                                  std::pair{kWidth, 4 * kWidth},
                                  std::pair{4 * kWidth, kWidth}}) {
        const int64_t groups = in / 16;
        bytes += kLayers * (in * out / 2 + groups * out / 2 + groups * out * 2 + in * 4);
        weights += kLayers * in * out;
    }
    EXPECT_EQ(
        query_int(database_,
                  "SELECT json_extract(summary_json, '$.packed_bytes') FROM runs WHERE id = 2"),
        bytes);
    EXPECT_EQ(query_int(database_,
                        "SELECT json_extract(summary_json, '$.packed_weights') FROM "
                        "runs WHERE id = 2"),
              weights);
    EXPECT_EQ(
        query_int(database_,
                  "SELECT json_extract(summary_json, '$.model_bytes') FROM runs WHERE id = 2"),
        static_cast<int64_t>(fs::file_size(packed)));
}

TEST_F(CliQatTest, RtnPacksTheGroupwiseMinMaxRoundingOfTheSourceWeights) {
    const ProcessResult r = qat(qat_recipe("rtn"), workspace_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(query_int(database_, "SELECT count(*) FROM block_ap WHERE run_id = 2"), 0);
    EXPECT_EQ(query_text(database_,
                         "SELECT group_concat(substr(text, 1, instr(text, ',') - 1), ',') "
                         "FROM events WHERE run_id = 2 AND kind = 'phase'"),
              "block_ap,eval");

    const std::optional<store::Workspace> ws =
        store::Workspace::open(workspace_, store::OpenMode::kReadOnly);
    const train::LoadedModel source = train::load_checkpoint_model("1", ws);
    const qat::PackedModel packed = qat::load_packed_model(workspace_ / "runs/2/model.safetensors");
    auto source_params = source.model->named_parameters();
    auto packed_params = packed.model->named_parameters();
    int64_t compared = 0;
    for (const auto& item : source_params) {
        const std::string& name = item.key();
        if (name.find("blocks.") != 0 || name.find("weight") == std::string::npos ||
            item.value().dim() != 2) {
            continue;
        }
        // Min-max rounding per (row, group of 16 inputs), steps stored in fp16.
        const torch::Tensor w = item.value().detach().reshape({item.value().size(0), -1, 16});
        const torch::Tensor lo = std::get<0>(w.min(-1, true));
        const torch::Tensor hi = std::get<0>(w.max(-1, true));
        const torch::Tensor step =
            ((hi - lo) / 15).clamp(1e-4, 1e4).to(torch::kHalf).to(torch::kFloat);
        const torch::Tensor zero = (-lo / step).round().clamp(0, 15);
        const torch::Tensor codes = ((w / step).round() + zero).clamp(0, 15);
        const torch::Tensor expected = ((codes - zero) * step).reshape(item.value().sizes());
        const torch::Tensor* got = packed_params.find(name);
        ASSERT_NE(got, nullptr) << name;
        const torch::Tensor difference = (got->detach() - expected).abs();
        // Equal up to float rounding; a code may differ only where w/s sits on a .5 boundary.
        const double off = (difference > 1e-6).to(torch::kFloat).mean().item<double>();
        EXPECT_LT(off, 1e-3) << name;
        EXPECT_LE(difference.max().item<double>(), step.max().item<double>() + 1e-6) << name;
        ++compared;
    }
    EXPECT_EQ(compared, kLayers * 4);

    // The run's packed model is what its id loads: `lowbit eval 2` scores the same perplexity
    // on the source's validation split as the run recorded, and `lowbit generate 2` samples.
    const std::string data_dir = query_text(
        database_, "SELECT json_extract(summary_json, '$.data_dir') FROM runs WHERE id = 1");
    const std::string recorded = query_text(
        database_, "SELECT value FROM scalars WHERE run_id = 2 AND key = 'eval/val/ppl'");
    ASSERT_FALSE(recorded.empty());
    const ProcessResult scored = lowbit(
        {"eval", "2", "--data", (fs::path(data_dir) / "val.bin").string(), "--device", "cpu"},
        workspace_);
    ASSERT_EQ(scored.exit_code, 0) << scored.err;
    const auto at = scored.out.find("ppl ");
    ASSERT_NE(at, std::string::npos) << scored.out;
    EXPECT_NEAR(std::stod(scored.out.substr(at + 4)), std::stod(recorded), 1e-3);
    const ProcessResult sampled =
        lowbit({"generate", "2", "--tokens", "8", "--device", "cpu"}, workspace_);
    EXPECT_EQ(sampled.exit_code, 0) << sampled.err;
    EXPECT_FALSE(sampled.out.empty());
}

TEST_F(CliQatTest, GptqCompletesWithoutBlockApRows) {
    const ProcessResult r =
        qat(qat_recipe("gptq", "  gptq: {act_order: true, block_size: 32}\n"), workspace_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(query_text(database_, "SELECT status FROM runs WHERE id = 2"), "completed");
    EXPECT_EQ(query_int(database_, "SELECT count(*) FROM block_ap WHERE run_id = 2"), 0);
    EXPECT_EQ(query_int(database_,
                        "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = 'block'"),
              kLayers);
    const std::string ppl = query_text(
        database_, "SELECT value FROM scalars WHERE run_id = 2 AND key = 'eval/val/ppl'");
    ASSERT_FALSE(ppl.empty());
    EXPECT_GT(std::stod(ppl), 1.0);
}

TEST_F(CliQatTest, StoppedThenKilledRunResumesBlockByBlockToTheUninterruptedResult) {
    const fs::path recipe = qat_recipe("efficientqat");
    const fs::path reference = dir_ / "reference";
    fs::copy(workspace_, reference, fs::copy_options::recursive);
    ASSERT_EQ(qat(recipe, reference).exit_code, 0);

    // SIGTERM once block 0 is finished: the run stops after the block it is in.
    BackgroundProcess run = start_qat(recipe, "stopped");
    ASSERT_TRUE(wait_for_blocks(database_, run.pid, 1));
    kill(run.pid, SIGTERM);
    const ProcessResult stopped = wait_process(run);
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    ASSERT_EQ(query_text(database_, "SELECT status FROM runs WHERE id = 2"), "stopped");
    const int64_t after_stop = query_int(
        database_, "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = 'block'");
    ASSERT_GE(after_stop, 1);
    ASSERT_LT(after_stop, kLayers);

    // Resumed, then SIGKILL once one more block is finished.
    run = start_process({lowbit_exe(),
                         "qat",
                         "--resume",
                         "2",
                         "--progress",
                         "jsonl",
                         "--workspace",
                         workspace_.string()},
                        (dir_ / "killed").string());
    ASSERT_TRUE(wait_for_blocks(database_, run.pid, after_stop + 1));
    kill(run.pid, SIGKILL);
    const ProcessResult killed = wait_process(run);
    ASSERT_EQ(killed.term_signal, SIGKILL) << "the run ended before it could be killed";
    // The resumed process trained no block the stopped one had finished.
    EXPECT_EQ(killed.out.find("\"event\":\"block_epoch\",\"format\":1,\"step\":" +
                              std::to_string(kStepsPerBlock / kEpochs) + ","),
              std::string::npos);
    EXPECT_NE(killed.out.find("\"event\":\"resumed\""), std::string::npos) << killed.out;
    EXPECT_EQ(query_text(database_, "PRAGMA integrity_check"), "ok");

    const ProcessResult resumed =
        lowbit({"qat", "--resume", "2", "--progress", "none"}, workspace_);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(query_text(database_, "SELECT status FROM runs WHERE id = 2"), "completed");
    EXPECT_EQ(results(workspace_), results(reference));
    EXPECT_EQ(query_int(database_,
                        "SELECT count(*) FROM events WHERE run_id = 2 AND kind = "
                        "'resumed'"),
              2);
    // A completed run is not resumed again.
    EXPECT_EQ(lowbit({"qat", "--resume", "2"}, workspace_).exit_code, 2);
}

TEST_F(CliQatTest, BadInputIsRefusedBeforeAnyWork) {
    const std::string before = dump_database(database_);
    const std::string files_before = dump_files(workspace_);
    auto expect_refused = [&](const std::vector<std::string>& args, const std::string& needle) {
        const ProcessResult r = lowbit(args, workspace_);
        EXPECT_EQ(r.exit_code, 2) << needle << "\n" << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
        EXPECT_EQ(dump_database(database_), before) << needle;
        EXPECT_EQ(dump_files(workspace_), files_before) << needle;
    };
    const std::string recipe = qat_recipe("efficientqat").string();
    // A source that is not a model: an unknown run, a text file, an already packed model.
    expect_refused({"qat", recipe, "--set", "qat.source=no-such-run"}, "qat.source");
    const fs::path text = write_file("notes.txt", "not a model\n");
    expect_refused({"qat", recipe, "--set", "qat.source=" + text.string()}, text.string());
    // In a workspace that does not exist, nothing is created.
    const ProcessResult elsewhere = qat(qat_recipe("rtn"), dir_ / "other");
    EXPECT_EQ(elsewhere.exit_code, 2) << elsewhere.err;
    EXPECT_FALSE(fs::exists(dir_ / "other"));
    // Bits and groups that do not fit the model: 24 does not divide the width 32.
    expect_refused({"qat", recipe, "--set", "qat.group_size=24"}, "qat.group_size");
    expect_refused({"qat", recipe, "--set", "qat.bits=5"}, "qat.bits");
    expect_refused({"qat", recipe, "--set", "qat.block_ap.seq_len=64"}, "qat.block_ap.seq_len");
    // An empty and a too short calibration corpus.
    const fs::path empty = write_file("empty.txt", "");
    expect_refused({"qat", recipe, "--set", "qat.block_ap.calibration=[" + empty.string() + "]"},
                   empty.string());
    const fs::path short_text = write_file("short.txt", std::string(300, 'a'));
    expect_refused(
        {"qat", recipe, "--set", "qat.block_ap.calibration=[" + short_text.string() + "]"},
        "qat.block_ap.calibration");
    // A truncated packed model as the source: named, refused.
    ASSERT_EQ(qat(qat_recipe("rtn"), workspace_).exit_code, 0);
    const std::string with_run_two = dump_database(database_);
    const fs::path truncated = dir_ / "truncated.safetensors";
    fs::copy_file(workspace_ / "runs/2/model.safetensors", truncated);
    fs::resize_file(truncated, fs::file_size(truncated) / 2);
    ProcessResult r =
        lowbit({"qat", recipe, "--set", "qat.source=" + truncated.string()}, workspace_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(truncated.string()), std::string::npos) << r.err;
    r = lowbit({"qat", recipe, "--set", "qat.source=2"}, workspace_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("qat.source"), std::string::npos) << r.err;
    // Resuming what is not a stopped qat run.
    r = lowbit({"qat", "--resume", "1"}, workspace_);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("'train' run"), std::string::npos) << r.err;
    EXPECT_EQ(dump_database(database_), with_run_two);
}

// Data parallel (docs/efficientqat.md §Data-parallel runs): two ranks, each computing half of every
// Block-AP and E2E-QP batch, quantize as one process does. They sum the same rows' products in
// another order, so their first Block-AP losses differ from one process's by about 1e-5 relative.
// The fake quantizer's rounding turns such differences into single grid steps of a weight, and
// the tiny per-epoch MSEs of later epochs (1e-5 to 1e-4 here) then move by tens of percents
// between the two runs, as they do from epoch to epoch. The packed model they end with is what
// counts: its E2E-QP losses and its perplexity agree within 1e-3 (below 1e-4 measured here).
// Exactness against one process is tested piece by piece in tests/qat/data_parallel_qat_test.cpp.
TEST_F(CliQatTest, TwoRanksQuantizeAsOneProcessDoes) {
    const fs::path recipe = qat_recipe("efficientqat");
    const fs::path two = dir_ / "two";
    const ProcessResult r = qat_on_two_ranks(recipe, two);  // copies the workspace first
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(qat(recipe, workspace_).exit_code, 0);
    EXPECT_NE(r.out.find("eval/val/ppl"), std::string::npos) << r.out;  // rank 0 reports, once
    EXPECT_EQ(r.out.find("eval/val/ppl"), r.out.rfind("eval/val/ppl")) << r.out;

    const fs::path db = two / "runs.sqlite";
    EXPECT_EQ(query_text(db, "SELECT kind || ' ' || status FROM runs WHERE id = 2"),
              "qat completed");
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), 2);  // the source and one qat run
    EXPECT_EQ(query_int(db,
                        "SELECT json_extract(summary_json, '$.world_size') FROM runs WHERE "
                        "id = 2"),
              2);
    // CPU tensors: the gradients of Block-AP and E2E-QP went through Gloo.
    EXPECT_EQ(query_text(db,
                         "SELECT json_extract(summary_json, '$.gradient_collectives') FROM runs "
                         "WHERE id = 2"),
              "gloo");
    EXPECT_EQ(query_int(db,
                        "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = "
                        "'block'"),
              kLayers);
    // The same Block-AP steps and learning rates; block 0's first epoch before rounding diverges.
    const std::string schedule =
        "SELECT block, epoch, step, quant_lr, weight_lr FROM block_ap WHERE run_id = 2 ORDER BY "
        "block, epoch";
    EXPECT_EQ(query_rows(db, schedule), query_rows(database_, schedule));
    for (const std::string value : {"train_loss", "val_loss"}) {
        const std::string sql =
            "SELECT " + value + " FROM block_ap WHERE run_id = 2 AND block = 0 AND epoch = 1";
        expect_close(column(database_, sql), column(db, sql), 1e-3, value);
    }
    for (const std::string key : {"train/loss", "eval/val/ppl"}) {
        const std::string sql =
            "SELECT value FROM scalars WHERE run_id = 2 AND key = '" + key + "' ORDER BY step";
        expect_close(column(database_, sql), column(db, sql), 1e-3, key);
    }
    // The step counters agree: the same batches, the same number of optimizer steps.
    const std::string steps = "SELECT step FROM scalars WHERE run_id = 2 AND key = 'train/loss'";
    EXPECT_EQ(query_rows(db, steps), query_rows(database_, steps));
}

// GPTQ with the Hessians summed over the ranks (float64, another order) against one process.
TEST_F(CliQatTest, GptqOnTwoRanksUsesTheHessianOfEveryWindow) {
    const fs::path recipe = qat_recipe("gptq");
    const ProcessResult r = qat_on_two_ranks(recipe, dir_ / "two");  // copies the workspace first
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(qat(recipe, workspace_).exit_code, 0);
    EXPECT_EQ(query_int(dir_ / "two" / "runs.sqlite",
                        "SELECT json_extract(summary_json, '$.world_size') FROM runs WHERE id = 2"),
              2);
    const std::string sql = "SELECT value FROM scalars WHERE run_id = 2 AND key = 'eval/val/ppl'";
    expect_close(column(database_, sql), column(dir_ / "two" / "runs.sqlite", sql), 1e-6, "ppl");
}

// Stopped with SIGTERM to the launcher after a block, a two-rank run resumes on two ranks onto
// the uninterrupted two-rank run's rows and packed file, bit for bit: the finished blocks are
// read back, the rest is the same arithmetic.
TEST_F(CliQatTest, ATwoRankRunStoppedAfterABlockResumesOntoTheUninterruptedRun) {
    const fs::path recipe = qat_recipe("efficientqat");
    const fs::path reference = dir_ / "reference";
    ASSERT_EQ(qat_on_two_ranks(recipe, reference).exit_code, 0);

    BackgroundProcess run = start_qat(recipe, "stopped", {"--nproc-per-node", "2"});
    ASSERT_TRUE(wait_for_blocks(database_, run.pid, 1));
    kill(run.pid, SIGTERM);
    const ProcessResult stopped = wait_process(run);
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    ASSERT_EQ(query_text(database_, "SELECT status FROM runs WHERE id = 2"), "stopped");
    ASSERT_LT(query_int(database_,
                        "SELECT count(*) FROM checkpoints WHERE run_id = 2 AND kind = 'block'"),
              kLayers);

    const ProcessResult resumed =
        lowbit({"qat", "--resume", "2", "--progress", "none", "--nproc-per-node", "2"}, workspace_);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(query_text(database_, "SELECT status FROM runs WHERE id = 2"), "completed");
    EXPECT_EQ(results(workspace_), results(reference));
}

// What the ranks cannot split is refused once, before anything is recorded.
TEST_F(CliQatTest, ABatchTheRanksCannotSplitIsRefusedBeforeAnyWork) {
    const std::string before = dump_database(database_);
    const fs::path recipe = qat_recipe("efficientqat");
    ProcessResult r = qat_on_two_ranks(
        recipe, workspace_, {"--set", "qat.e2e_qp.global_batch=7", "--collective-timeout", "30"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("qat.e2e_qp.global_batch 7 does not split into 2"), std::string::npos)
        << r.err;
    r = qat_on_two_ranks(recipe, workspace_, {"--set", "qat.block_ap.batch=1"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("qat.block_ap.batch 1 is smaller than the number of ranks (2)"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(dump_database(database_), before);
}

}  // namespace
}  // namespace lowbit::testing
