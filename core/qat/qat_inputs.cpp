// prepare_qat_inputs (see qat_inputs.h).
#include "lowbit/qat/qat_inputs.h"

#include "lowbit/eval/token_file.h"
#include "lowbit/qat/group_quantizer.h"
#include "lowbit/util/exit_codes.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

namespace lowbit::qat {
namespace fs = std::filesystem;

namespace {

// The source run's prepared data folder (its train.bin and val.bin), if it has one.
std::optional<fs::path> source_data_dir(const train::LoadedModel& source) {
    if (!source.run) {
        return std::nullopt;
    }
    const nlohmann::json summary = nlohmann::json::parse(source.run->summary_json, nullptr, false);
    if (!summary.is_object() || !summary.contains("data_dir")) {
        return std::nullopt;
    }
    const fs::path dir = summary["data_dir"].get<std::string>();
    if (!fs::is_regular_file(dir / "train.bin")) {
        return std::nullopt;
    }
    return dir;
}

// The tokens of a list of corpus files, one stream.
std::vector<int64_t> read_corpus(const std::vector<std::string>& files,
                                 const train::LoadedModel& source) {
    std::vector<int64_t> tokens;
    for (const std::string& file : files) {
        const std::vector<int64_t> part =
            eval::read_token_file(file, source.tokenizer.get(), source.model->config().vocab_size);
        tokens.insert(tokens.end(), part.begin(), part.end());
    }
    return tokens;
}

std::string join(const std::vector<std::string>& files) {
    std::string text;
    for (const std::string& f : files) {
        text += (text.empty() ? "" : ", ") + f;
    }
    return text;
}

void check_fits_model(const config::QatSpec& qat, const model::LanguageModelImpl& model) {
    const GroupQuantSpec spec{.bits = qat.bits, .group_size = qat.group_size};
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (const model::Linear& linear : model.block_linears(b)) {
            try {
                check_group_quant_spec(spec, linear->in_features(), linear->path());
            } catch (const std::invalid_argument& e) {
                throw util::BadInput(std::string("qat.group_size: ") + e.what());
            }
            if (linear->weight_only() != nullptr) {
                throw util::BadInput("qat.source: the model is already quantized (layer " +
                                     linear->path() +
                                     " is packed); quantize a full-precision "
                                     "model");
            }
        }
    }
    const int context = model.config().context;
    if (qat.block_ap.seq_len > context) {
        throw util::BadInput("qat.block_ap.seq_len: " + std::to_string(qat.block_ap.seq_len) +
                             " is above the source model's context (" + std::to_string(context) +
                             ")");
    }
    if (runs_e2e_qp(qat) && qat.e2e_qp.seq_len > context) {
        throw util::BadInput("qat.e2e_qp.seq_len: " + std::to_string(qat.e2e_qp.seq_len) +
                             " is above the source model's context (" + std::to_string(context) +
                             ")");
    }
}

}  // namespace

bool runs_e2e_qp(const config::QatSpec& qat) {
    return qat.method == config::QatMethod::kEfficientQat && qat.e2e_qp.epochs > 0;
}

torch::Tensor draw_windows(const std::vector<int64_t>& tokens,
                           int64_t length,
                           int64_t samples,
                           uint64_t seed,
                           const std::string& what) {
    const int64_t available = static_cast<int64_t>(tokens.size()) / length;
    if (available < samples) {
        throw util::BadInput(what + ": " + std::to_string(tokens.size()) + " tokens give " +
                             std::to_string(available) + " windows of " + std::to_string(length) +
                             " tokens; " + std::to_string(samples) +
                             " are needed (a longer corpus, or fewer samples or a shorter "
                             "seq_len)");
    }
    std::vector<int64_t> order(static_cast<size_t>(available));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 generator(seed);
    std::shuffle(order.begin(), order.end(), generator);
    torch::Tensor windows = torch::empty({samples, length}, torch::kInt64);
    int64_t* out = windows.data_ptr<int64_t>();
    for (int64_t i = 0; i < samples; ++i) {
        std::copy_n(
            tokens.begin() + order[static_cast<size_t>(i)] * length, length, out + i * length);
    }
    return windows;
}

QatInputs prepare_qat_inputs(const config::Recipe& recipe, const fs::path& workspace_root) {
    const config::QatSpec& qat = recipe.qat;
    if (qat.source.empty()) {
        throw util::BadInput(
            "qat.source: empty; name the model to quantize (a run id or name, or a checkpoint "
            "folder)");
    }
    QatInputs inputs;
    std::optional<store::Workspace> workspace;
    if (!fs::exists(qat.source)) {
        workspace.emplace(store::Workspace::open(workspace_root, store::OpenMode::kReadOnly));
    }
    try {
        inputs.source = train::load_checkpoint_model(qat.source, workspace);
    } catch (const util::BadInput& e) {
        throw util::BadInput(std::string("qat.source: ") + e.what());
    }
    inputs.source_label = inputs.source.run ? "run " + std::to_string(inputs.source.run->id) +
                                                  " (" + inputs.source.run->name + ")"
                                            : inputs.source.checkpoint_dir.string();
    check_fits_model(qat, *inputs.source.model);

    const std::optional<fs::path> data_dir = source_data_dir(inputs.source);
    std::vector<std::string> calibration = qat.block_ap.calibration;
    if (calibration.empty()) {
        if (!data_dir) {
            throw util::BadInput(
                "qat.block_ap.calibration: empty, and the source " + inputs.source_label +
                " has no training data of its own in the workspace; name a calibration corpus");
        }
        calibration = {(*data_dir / "train.bin").string()};
    }
    const std::vector<int64_t> calibration_tokens = read_corpus(calibration, inputs.source);
    const torch::Tensor windows =
        draw_windows(calibration_tokens,
                     qat.block_ap.seq_len,
                     qat.block_ap.samples + qat.block_ap.val_samples,
                     recipe.seed,
                     "qat.block_ap.calibration (" + join(calibration) + ")");
    inputs.calibration_train = windows.slice(0, 0, qat.block_ap.samples).clone();
    inputs.calibration_val = windows.slice(0, qat.block_ap.samples).clone();

    if (runs_e2e_qp(qat)) {
        const std::vector<std::string>& corpus =
            qat.e2e_qp.corpus.empty() ? calibration : qat.e2e_qp.corpus;
        const std::vector<int64_t> e2e_tokens =
            qat.e2e_qp.corpus.empty() ? calibration_tokens : read_corpus(corpus, inputs.source);
        inputs.e2e_windows = draw_windows(e2e_tokens,
                                          qat.e2e_qp.seq_len + 1,
                                          qat.e2e_qp.samples,
                                          recipe.seed + 1,
                                          "qat.e2e_qp.corpus (" + join(corpus) + ")");
    }

    const int context = inputs.source.model->config().context;
    auto add_eval = [&](std::string name, const fs::path& path) {
        EvalCorpus corpus{
            std::move(name),
            path,
            eval::read_token_file(
                path, inputs.source.tokenizer.get(), inputs.source.model->config().vocab_size)};
        if (static_cast<int64_t>(corpus.tokens.size()) < context) {
            throw util::BadInput("qat.eval: " + path.string() + " has " +
                                 std::to_string(corpus.tokens.size()) +
                                 " tokens, fewer than one window of the model's context (" +
                                 std::to_string(context) + ")");
        }
        inputs.eval.push_back(std::move(corpus));
    };
    if (data_dir && fs::is_regular_file(*data_dir / "val.bin")) {
        add_eval("val", *data_dir / "val.bin");
    }
    for (const std::string& file : qat.eval) {
        add_eval(fs::path(file).stem().string(), file);
    }
    return inputs;
}

}  // namespace lowbit::qat
