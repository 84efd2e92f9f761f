// gather_gradient_feedback and restore_gradient_feedback (gradient_feedback_state.h). Each rank's
// memory travels pickled (tensor_pickle.h), gathered to and scattered from rank 0.
#include "lowbit/train/gradient_feedback_state.h"

#include "lowbit/train/tensor_pickle.h"
#include "lowbit/util/exit_codes.h"

#include <charconv>
#include <exception>
#include <string>

namespace lowbit::train {
namespace {

bool takes_part(const dist::World& world, const dist::GradientExchange& exchange) {
    return world.size() > 1 && exchange.keeps_residuals();
}

// "rank<r>.<rest>" → r and rest; throws util::BadInput naming the entry otherwise.
std::pair<int, std::string> split_rank(const std::string& name) {
    constexpr std::string_view kPrefix = "rank";
    const auto dot = name.find('.');
    int rank = -1;
    bool numbered = false;
    if (name.starts_with(kPrefix) && dot != std::string::npos && dot > kPrefix.size()) {
        const char* end = name.data() + dot;
        numbered = std::from_chars(name.data() + kPrefix.size(), end, rank).ptr == end;
    }
    if (!numbered || rank < 0) {
        throw util::BadInput("gradient_feedback.safetensors: '" + name +
                             "' is not named rank<r>.<memory>");
    }
    return {rank, name.substr(dot + 1)};
}

}  // namespace

NamedTensors gather_gradient_feedback(dist::World& world, const dist::GradientExchange& exchange) {
    NamedTensors all;
    if (!takes_part(world, exchange)) {
        return all;
    }
    const std::vector<torch::Tensor> by_rank =
        world.gather_bytes_to_writer(pickled(exchange.residuals()));
    for (std::size_t r = 0; r < by_rank.size(); ++r) {
        for (auto& [name, tensor] : unpickled(by_rank[r])) {
            all.emplace_back("rank" + std::to_string(r) + "." + name, std::move(tensor));
        }
    }
    return all;
}

void restore_gradient_feedback(dist::World& world,
                               dist::GradientExchange& exchange,
                               const NamedTensors& saved) {
    if (!takes_part(world, exchange)) {
        return;
    }
    int saved_world_size = 0;
    std::vector<torch::Tensor> parts;
    std::exception_ptr unreadable;  // rank 0: a malformed entry, raised once every rank knows
    if (world.is_writer()) {
        std::vector<NamedTensors> by_rank;
        try {
            for (const auto& [name, tensor] : saved) {
                auto [rank, rest] = split_rank(name);
                if (static_cast<int>(by_rank.size()) <= rank) {
                    by_rank.resize(static_cast<std::size_t>(rank) + 1);
                }
                by_rank[static_cast<std::size_t>(rank)].emplace_back(std::move(rest), tensor);
            }
            for (const NamedTensors& entries : by_rank) {
                // Checked here too, so that no rank but rank 0 can fail on them alone.
                dist::GradientExchange::check_residuals(entries);
            }
        } catch (const util::BadInput&) {
            unreadable = std::current_exception();
            by_rank.clear();
        }
        saved_world_size = static_cast<int>(by_rank.size());
        for (int r = 0; r < world.size(); ++r) {
            // Another world size cuts the buckets into other parts: nothing carries over.
            parts.push_back(saved_world_size == world.size()
                                ? pickled(by_rank[static_cast<std::size_t>(r)])
                                : torch::empty({0}, torch::kUInt8));
        }
    }
    const torch::Tensor mine = world.scatter_bytes_from_writer(parts);
    if (world.any(unreadable != nullptr)) {
        if (unreadable) {
            std::rethrow_exception(unreadable);
        }
        throw dist::DistributedError("rank " + std::to_string(world.rank()) +
                                     ": rank 0 could not read the checkpoint's error-feedback "
                                     "memory (see its output)");
    }
    if (mine.numel() > 0) {
        exchange.restore_residuals(unpickled(mine));
    }
}

}  // namespace lowbit::train
