// GradientExchange: how the ranks of a data-parallel job turn their gradients into the global
// batch's mean, as the recipe's distributed.gradient_allreduce says (docs/distributed.md
// §Gradients, §Compressed gradients). fp32 averages exactly (average_gradients); bf16 and int8
// cut each bucket into one part per rank, send every part encoded to the rank that owns it
// (all-to-all), let the owner add the decoded parts in float32 in rank order and divide, and send
// the owner's mean encoded to every rank (allgather). Every rank decodes the same bytes, so the
// replicas stay identical. With error feedback, what each encoding dropped is kept and added
// before the next step's encoding.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/dist/gradient_averaging.h"
#include "lowbit/dist/gradient_codec.h"
#include "lowbit/dist/world.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::dist {

class GradientExchange {
public:
    explicit GradientExchange(const config::DistributedSpec& spec,
                              int64_t bucket_bytes = kGradientBucketBytes);

    /// Replaces every parameter's gradient by its mean over the ranks (a missing gradient counts
    /// as zeros) and `riders` (small 1-D float32: the step's loss and stop flag) by their exact
    /// sum, on every rank. A World of one process changes nothing.
    void average(World& world, const std::vector<torch::Tensor>& parameters, torch::Tensor& riders);

    /// Bytes this rank has sent for gradients and riders so far, counted for the algorithms Gloo
    /// runs: ring allreduce 2(N-1)/N of the buffer, all-to-all the N-1 parts for other ranks,
    /// ring allgather N-1 parts (docs/distributed.md §Compressed gradients).
    int64_t bytes_sent() const {
        return bytes_sent_;
    }

    /// Bytes of float32 error-feedback memory this rank holds (0 without error feedback).
    int64_t residual_bytes() const;

    /// Whether this exchange keeps error-feedback memory (an encoded exchange with feedback on).
    bool keeps_residuals() const {
        return error_feedback_ && codec_.has_value();
    }

    /// This rank's error-feedback memory, for a checkpoint: "sent.<bucket>" ((n,) float32) and
    /// "owned.<bucket>" ((n_pad/N,) float32) for every bucket exchanged so far.
    std::vector<std::pair<std::string, torch::Tensor>> residuals() const;
    /// Takes memory that residuals() gave in a job of the same world size and recipe; the next
    /// exchange continues from it. A bucket whose memory does not have that exchange's sizes
    /// starts from zero. Throws as check_residuals() does, before taking anything.
    void restore_residuals(const std::vector<std::pair<std::string, torch::Tensor>>& saved);
    /// Throws util::BadInput naming the first entry that is not a float32 vector named as
    /// residuals() names them.
    static void check_residuals(const std::vector<std::pair<std::string, torch::Tensor>>& saved);

private:
    void exchange_encoded(World& world,
                          std::size_t bucket_index,
                          const std::vector<torch::Tensor>& grads,
                          torch::Tensor* riders);

    config::GradientAllreduce encoding_;
    bool error_feedback_;
    int64_t bucket_bytes_;
    std::optional<GradientCodec> codec_;
    // Per bucket, error feedback only: what this rank's encoding of its whole bucket dropped
    // ((n,) float32), and what its encoding of the mean of the part it owns dropped ((n_pad/N,)).
    std::vector<torch::Tensor> sent_residual_;
    std::vector<torch::Tensor> owned_residual_;
    int64_t bytes_sent_ = 0;
};

}  // namespace lowbit::dist
