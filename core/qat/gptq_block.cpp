// gptq_block (see gptq_block.h).
#include "lowbit/qat/gptq_block.h"

#include "lowbit/qat/packed_weight.h"

#include <memory>
#include <vector>

namespace lowbit::qat {

namespace {

// Computes the layer's own product while adding every input row to its Hessian.
class HessianProbe : public model::WeightOnlyLinear {
public:
    explicit HessianProbe(int64_t in_features) : hessian_(in_features) {}

    torch::Tensor forward(const torch::Tensor& x,
                          const torch::Tensor& weight,
                          const torch::Tensor& bias) override {
        hessian_.add(x);
        return torch::nn::functional::linear(x, weight, bias);
    }

    HessianAccumulator& accumulator() {
        return hessian_;
    }

private:
    HessianAccumulator hessian_;
};

}  // namespace

FinishedBlock gptq_block(model::LanguageModelImpl& model,
                         int64_t index,
                         ActivationStreams& streams,
                         const GroupQuantSpec& spec,
                         const GptqOptions& options,
                         int64_t batch,
                         dist::World* world) {
    TORCH_CHECK(!model.is_training(), "gptq_block: the model must be in eval mode");
    const std::vector<model::Linear> linears = model.block_linears(index);
    std::vector<std::shared_ptr<HessianProbe>> probes;
    for (model::Linear linear : linears) {
        probes.push_back(std::make_shared<HessianProbe>(linear->in_features()));
        linear->set_weight_only(probes.back());
    }
    // GPTQ sees the inputs the already quantized blocks produce.
    run_block(model, index, streams.quant_train, batch);
    if (world != nullptr) {
        for (const auto& probe : probes) {
            probe->accumulator().sum_over(*world);
        }
    }
    FinishedBlock finished;
    finished.index = index;
    for (size_t i = 0; i < linears.size(); ++i) {
        model::Linear linear = linears[i];
        linear->set_weight_only(nullptr);
        const GptqResult result = gptq_quantize(
            linear->weight().detach(), probes[i]->accumulator().hessian(), spec, options);
        finished.linears.emplace(
            linear->path(),
            pack_weight(result.codes.cpu(), result.zero_points.cpu(), result.steps.cpu(), spec));
    }
    install_finished_block(model, finished, &streams, batch);
    return finished;
}

}  // namespace lowbit::qat
