// LayerTelemetry: the quantization telemetry of a training run (docs/quantized-pretraining.md
// §Telemetry). On each logging step of the recipe's telemetry: section it records, for every
// quantized linear, the statistics and histograms of W, A = the layer input, G = dL/dY, and the
// AdamW moments m and v, each with the quantizer the run applies to it (or none when that tensor
// is not quantized), and writes them to the store (one device-to-host copy per step on a GPU).
//
// What a logging step `done` shows (1-based, as the trainer counts):
//   A, G   the last micro-batch of step `done`, unquantized, in the dtype the step ran in;
//   W      the weights after the optimizer update of step `done` (what checkpoint `done` holds);
//   m, v   the moments m_t, v_t that the update of step `done` computes from the stored moments
//          and the clipped gradient, before they are stored: with a quantized moment, its
//          statistics are those of the quantization the optimizer applies when storing them
//          (SQNR, fraction rounded to zero, code usage). With optim_v_mapping sqrt the optim_v
//          entry describes sqrt(v_t), the quantity stored.
// A run that quantizes nothing records every linear, so a baseline can be compared with it.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/model/language_model.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/telemetry/telemetry_collector.h"
#include "lowbit/telemetry/telemetry_schedule.h"
#include "lowbit/train/optimizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::train {

class LayerTelemetry {
public:
    LayerTelemetry(const config::Recipe& recipe, model::LanguageModelImpl& model);
    ~LayerTelemetry();
    LayerTelemetry(const LayerTelemetry&) = delete;
    LayerTelemetry& operator=(const LayerTelemetry&) = delete;

    // Before the forward passes of the step that will end as `done`: true (and the layers'
    // input and output-gradient capture on) when `done` is a logging step.
    bool begin_step(std::int64_t done);

    // After backward and gradient clipping, before the optimizer update of a logging step:
    // queues A, G, m_t and v_t of every recorded layer.
    void add_before_update(const Optimizer& optimizer);

    // After the optimizer update: queues W, writes the records of step `done` for `run_id`
    // (committed), and turns the capture off. Returns the number of tensors recorded.
    std::size_t finish_step(std::int64_t done, store::RunWriter& writer, std::int64_t run_id);

private:
    struct Layer {
        model::Linear linear;
        std::string param_name;  // the model parameter that holds its weight
    };

    void set_capture(bool enabled);
    void add(const Layer& layer,
             telemetry::TensorKind kind,
             const torch::Tensor& x,
             const std::optional<kernels::FakeQuantParams>& params);

    telemetry::TelemetrySchedule schedule_;
    double beta1_;
    double beta2_;
    bool sqrt_v_;
    telemetry::TelemetryCollector collector_;
    std::vector<Layer> layers_;
};

}  // namespace lowbit::train
