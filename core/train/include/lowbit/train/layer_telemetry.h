// LayerTelemetry: the quantization telemetry of a training run (docs/quantized-pretraining.md
// §Telemetry). On each logging step of the recipe's telemetry: section it records, for every
// quantized linear, the statistics and histograms of W, A = the layer input, G = dL/dY, and the
// AdamW moments m and v, each with the quantizer the run applies to it (or none when that tensor
// is not quantized), and writes them to the store (one device-to-host copy per step on a GPU).
//
// What a logging step `done` shows (1-based, as the trainer counts), each tensor exactly as the
// step handed it over, nothing recomputed:
//   A, G   the last micro-batch of step `done` as its quantizers received them
//          (quant::QuantizerInput: the view the scales are laid on, with that call's quantizer
//          and seed), unquantized, in the dtype the step ran in;
//   W      the weights after the optimizer update of step `done` (what checkpoint `done` holds);
//   m, v   the moments m_t, v_t the update of step `done` stored, handed over by the optimizer
//          (MomentObserver): a quantized moment is the float tensor the optimizer quantized into
//          its codes, with the quantizer that did it, so its statistics are those of the stored
//          codes (SQNR, fraction rounded to zero, code usage). With optim_v_mapping sqrt a
//          quantized optim_v is sqrt(v_t), the quantity stored.
// A run that quantizes nothing records every linear, so a baseline can be compared with it.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/model/language_model.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/telemetry/telemetry_collector.h"
#include "lowbit/telemetry/telemetry_schedule.h"
#include "lowbit/train/optimizer.h"

#include <cstdint>
#include <functional>
#include <map>
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
    // queues A and G of every recorded layer and has `optimizer` hand over the moments its
    // update stores (until finish_step).
    void before_update(Optimizer& optimizer);

    // After the optimizer update: queues W, writes the records of step `done` for `run_id`
    // (committed), and turns the capture off. Returns the number of tensors recorded.
    std::size_t finish_step(std::int64_t done, store::RunWriter& writer, std::int64_t run_id);

    // Statistics passes the last logging step ran: fewer than the tensors it recorded when
    // layers share an input (their A is computed once).
    std::size_t last_step_passes() const {
        return collector_.passes();
    }

private:
    struct Layer {
        model::Linear linear;
        std::string param_name;  // the model parameter that holds its weight
    };

    // Routes the optimizer's moments of recorded layers' weights to the collector.
    class MomentRouter final : public MomentObserver {
    public:
        explicit MomentRouter(LayerTelemetry& owner) : owner_(owner) {}

        void on_moments(const UpdatedMoments& moments) override;

    private:
        LayerTelemetry& owner_;
    };

    void set_capture(bool enabled);
    void add(const Layer& layer,
             telemetry::TensorKind kind,
             const torch::Tensor& x,
             const std::optional<kernels::FakeQuantParams>& params);

    telemetry::TelemetrySchedule schedule_;
    telemetry::TelemetryCollector collector_;
    std::vector<Layer> layers_;
    std::map<std::string, std::size_t, std::less<>> layer_of_param_;  // param name -> layers_
    MomentRouter router_{*this};
    Optimizer* observed_ = nullptr;  // the optimizer handing over moments this step
};

}  // namespace lowbit::train
