// Validation loss over fixed evaluation windows (see val_loss.h).
#include "lowbit/eval/val_loss.h"

#include "lowbit/util/autocast_guard.h"

#include <vector>

namespace lowbit::eval {

double estimate_loss(model::LanguageModelImpl& model,
                     const data::BatchSampler& sampler,
                     int batches,
                     int batch_size,
                     int context,
                     const torch::Device& device,
                     config::Precision precision,
                     RowShare rows) {
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    std::vector<int64_t> inputs(static_cast<size_t>(batch_size) * context);
    std::vector<int64_t> targets(inputs.size());
    const int count = rows.count < 0 ? batch_size : rows.count;
    const int64_t first = static_cast<int64_t>(rows.first) * context;
    double total = 0;
    for (int b = 0; b < batches; ++b) {
        // The whole batch is drawn (a pure function of its index), so every share of rows is
        // the one a single process would see.
        sampler.sample_eval(b, batch_size, inputs.data(), targets.data());
        auto x =
            torch::from_blob(inputs.data() + first, {count, context}, torch::kInt64).to(device);
        auto y =
            torch::from_blob(targets.data() + first, {count, context}, torch::kInt64).to(device);
        util::AutocastGuard autocast(device.type(), precision == config::Precision::kBf16);
        total += model::lm_loss(model.forward(x), y).item<double>();
    }
    model.train(was_training);
    return total / batches;
}

}  // namespace lowbit::eval
