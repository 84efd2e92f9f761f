// GradientExchange (gradient_exchange.h). Sizes: a bucket of n gradient values is padded to
// n_pad, a multiple of N·block, so that each of the N parts is part = n_pad / N values and
// encodes to the same number of bytes on every rank.
#include "lowbit/dist/gradient_exchange.h"

#include "lowbit/util/exit_codes.h"

#include <charconv>

namespace lowbit::dist {
namespace {

int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

struct ResidualName {
    bool sent;  // "sent.<bucket>", else "owned.<bucket>"
    std::size_t bucket;
};

// The kind and bucket of a residuals() entry; throws util::BadInput for anything else.
ResidualName parse_residual(const std::string& name, const torch::Tensor& tensor) {
    const auto dot = name.find('.');
    const std::string kind = name.substr(0, dot);
    std::size_t bucket = 0;
    bool numbered = false;
    if (dot != std::string::npos && dot + 1 < name.size()) {
        const char* end = name.data() + name.size();
        numbered = std::from_chars(name.data() + dot + 1, end, bucket).ptr == end;
    }
    if (!numbered || (kind != "sent" && kind != "owned") ||
        tensor.scalar_type() != torch::kFloat32 || tensor.dim() != 1) {
        throw util::BadInput("error-feedback memory: '" + name +
                             "' is not a float32 vector named sent.<bucket> or owned.<bucket>");
    }
    return {kind == "sent", bucket};
}

}  // namespace

GradientExchange::GradientExchange(const config::DistributedSpec& spec, int64_t bucket_bytes)
    : encoding_(spec.gradient_allreduce),
      error_feedback_(spec.error_feedback),
      bucket_bytes_(bucket_bytes) {
    if (encoding_ != config::GradientAllreduce::kFp32) {
        codec_.emplace(encoding_);
    }
}

int64_t GradientExchange::residual_bytes() const {
    int64_t bytes = 0;
    for (const auto* list : {&sent_residual_, &owned_residual_}) {
        for (const torch::Tensor& t : *list) {
            bytes += t.numel() * 4;
        }
    }
    return bytes;
}

std::vector<std::pair<std::string, torch::Tensor>> GradientExchange::residuals() const {
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (std::size_t b = 0; b < sent_residual_.size(); ++b) {
        if (sent_residual_[b].defined()) {
            named.emplace_back("sent." + std::to_string(b), sent_residual_[b]);
            named.emplace_back("owned." + std::to_string(b), owned_residual_[b]);
        }
    }
    return named;
}

void GradientExchange::check_residuals(
    const std::vector<std::pair<std::string, torch::Tensor>>& saved) {
    for (const auto& [name, tensor] : saved) {
        parse_residual(name, tensor);
    }
}

void GradientExchange::restore_residuals(
    const std::vector<std::pair<std::string, torch::Tensor>>& saved) {
    check_residuals(saved);
    for (const auto& [name, tensor] : saved) {
        const ResidualName parsed = parse_residual(name, tensor);
        if (sent_residual_.size() <= parsed.bucket) {
            sent_residual_.resize(parsed.bucket + 1);
            owned_residual_.resize(parsed.bucket + 1);
        }
        (parsed.sent ? sent_residual_ : owned_residual_)[parsed.bucket] = tensor;
    }
}

void GradientExchange::average(World& world,
                               const std::vector<torch::Tensor>& parameters,
                               torch::Tensor& riders) {
    const int n_ranks = world.size();
    if (n_ranks == 1) {
        return;
    }
    if (!codec_) {
        int64_t bytes = riders.defined() ? riders.numel() * 4 : 0;
        for (const torch::Tensor& p : parameters) {
            bytes += p.numel() * static_cast<int64_t>(p.element_size());
        }
        bytes_sent_ += 2 * (n_ranks - 1) * bytes / n_ranks;
        average_gradients(world, parameters, riders, bucket_bytes_);
        return;
    }
    const std::vector<std::vector<torch::Tensor>> buckets =
        gradient_buckets(parameters, bucket_bytes_);
    for (std::size_t b = 0; b < buckets.size(); ++b) {
        TORCH_CHECK(buckets[b].front().scalar_type() == torch::kFloat32,
                    "encoded gradient exchange needs float32 gradients");
        const bool last = b + 1 == buckets.size();
        exchange_encoded(world, b, buckets[b], last ? &riders : nullptr);
    }
    if (buckets.empty()) {
        sum_riders_alone(world, riders);
    }
}

void GradientExchange::exchange_encoded(World& world,
                                        std::size_t bucket_index,
                                        const std::vector<torch::Tensor>& grads,
                                        torch::Tensor* riders) {
    const GradientCodec& codec = *codec_;
    const int64_t n_ranks = world.size();
    const torch::Device device = grads.front().device();
    std::vector<torch::Tensor> flat_views;
    flat_views.reserve(grads.size());
    for (const torch::Tensor& g : grads) {
        flat_views.push_back(g.reshape({-1}));
    }
    const torch::Tensor flat = torch::cat(flat_views);  // (n,)
    const int64_t n = flat.numel();
    const int64_t n_pad = round_up(n, n_ranks * codec.block_elements());
    const int64_t part = n_pad / n_ranks;

    torch::Tensor values = torch::zeros({n_pad}, flat.options());  // (n_pad,), tail zeros
    values.narrow(0, 0, n).copy_(flat);
    if (error_feedback_) {
        if (sent_residual_.size() <= bucket_index) {
            sent_residual_.resize(bucket_index + 1);
            owned_residual_.resize(bucket_index + 1);
        }
        torch::Tensor& sent = sent_residual_[bucket_index];
        torch::Tensor& owned = owned_residual_[bucket_index];
        const bool fits =
            sent.defined() && owned.defined() && sent.numel() == n && owned.numel() == part;
        if (fits) {  // restored from a checkpoint, possibly on another device
            sent = sent.to(flat.device());
            owned = owned.to(flat.device());
        } else {
            sent = torch::zeros({n}, flat.options());
            owned = torch::zeros({part}, flat.options());
        }
        values.narrow(0, 0, n).add_(sent_residual_[bucket_index]);
    }

    // ---- all-to-all: part j of this rank's bucket, encoded, to rank j (riders ride along) ----
    const int64_t part_bytes = codec.encoded_bytes(part);
    const int64_t rider_count = riders != nullptr && riders->defined() ? riders->numel() : 0;
    const int64_t message_bytes = part_bytes + 4 * rider_count;
    const auto bytes_options = torch::TensorOptions().dtype(torch::kUInt8).device(device);
    torch::Tensor send = torch::empty({n_ranks * message_bytes}, bytes_options);
    const torch::Tensor rider_bytes =
        rider_count > 0 ? riders->to(device, torch::kFloat32).contiguous().view(torch::kUInt8)
                        : torch::Tensor();
    for (int64_t j = 0; j < n_ranks; ++j) {
        torch::Tensor message = send.narrow(0, j * message_bytes, message_bytes);
        codec.encode(values.narrow(0, j * part, part), message.narrow(0, 0, part_bytes));
        if (rider_count > 0) {
            message.narrow(0, part_bytes, 4 * rider_count).copy_(rider_bytes);
        }
    }
    if (error_feedback_) {
        // What this rank's encodings will stand for, against what it meant to send.
        std::vector<torch::Tensor> decoded;
        for (int64_t j = 0; j < n_ranks; ++j) {
            decoded.push_back(codec.decode(send.narrow(0, j * message_bytes, part_bytes), part));
        }
        sent_residual_[bucket_index] = values.narrow(0, 0, n) - torch::cat(decoded).narrow(0, 0, n);
    }
    torch::Tensor received = torch::empty_like(send);
    world.alltoall(send, received);
    bytes_sent_ += (n_ranks - 1) * message_bytes;

    // ---- the owned part: decoded parts added in rank order, so every rank's sums agree ----
    torch::Tensor mean = torch::zeros({part}, flat.options());  // (part,)
    torch::Tensor rider_sum = torch::zeros({rider_count}, torch::kFloat32);
    for (int64_t i = 0; i < n_ranks; ++i) {
        const torch::Tensor message = received.narrow(0, i * message_bytes, message_bytes);
        mean.add_(codec.decode(message.narrow(0, 0, part_bytes), part));
        if (rider_count > 0) {
            rider_sum.add_(
                message.narrow(0, part_bytes, 4 * rider_count).cpu().clone().view(torch::kFloat32));
        }
    }
    mean.div_(static_cast<double>(n_ranks));
    if (error_feedback_) {
        mean.add_(owned_residual_[bucket_index]);
    }
    torch::Tensor owned_bytes = torch::empty({part_bytes}, bytes_options);
    codec.encode(mean, owned_bytes);
    if (error_feedback_) {
        owned_residual_[bucket_index] = mean - codec.decode(owned_bytes, part);
    }

    // ---- allgather: every owner's encoded mean to every rank ----
    torch::Tensor gathered = torch::empty({n_ranks * part_bytes}, bytes_options);
    world.allgather(owned_bytes, gathered);
    bytes_sent_ += (n_ranks - 1) * part_bytes;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < n_ranks; ++i) {
        parts.push_back(codec.decode(gathered.narrow(0, i * part_bytes, part_bytes), part));
    }
    const torch::Tensor averaged = torch::cat(parts);  // (n_pad,)
    int64_t offset = 0;
    for (const torch::Tensor& g : grads) {
        g.copy_(averaged.narrow(0, offset, g.numel()).view(g.sizes()));
        offset += g.numel();
    }
    if (rider_count > 0) {
        riders->copy_(rider_sum.to(riders->device()));
    }
}

}  // namespace lowbit::dist
