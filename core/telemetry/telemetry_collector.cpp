// TelemetryCollector: runs the statistics pass per added tensor (CPU now; CUDA queued on the
// current stream into one growing device buffer of result blocks) and fetches all CUDA results
// of a step with a single device-to-host copy.
#include "lowbit/telemetry/telemetry_collector.h"

#include "lowbit/kernels/status.h"
#include "lowbit/util/kernel_threads.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <utility>

namespace lowbit::telemetry {
namespace {

// 64 KiB holds ~100 result blocks of 64 + 256 bins; the buffer doubles when a step needs more
// and keeps its size across steps, so steady-state steps allocate nothing.
constexpr std::size_t kInitialDeviceBytes = std::size_t{1} << 16;

void check_status(kernels::Status status,
                  const std::string& layer,
                  TensorKind kind,
                  const torch::Tensor& x,
                  const char* path) {
    TORCH_CHECK(status == kernels::Status::kOk,
                "telemetry: statistics of ",
                layer,
                " (",
                to_string(kind),
                ", shape ",
                x.sizes(),
                ") failed on the ",
                path,
                " path: ",
                kernels::to_string(status),
                status == kernels::Status::kBadShape
                    ? " (the quantizer's group size must divide the last dimension)"
                    : "");
}

}  // namespace

// The device buffer of result blocks (uint8 on the step's CUDA device) and the bytes in use.
struct TelemetryCollector::DeviceResults {
    torch::Tensor buffer;
    std::size_t used = 0;
};

TelemetryCollector::TelemetryCollector(kernels::QuantStatsSpec spec)
    : spec_(spec), device_(std::make_unique<DeviceResults>()) {}

TelemetryCollector::~TelemetryCollector() = default;

void TelemetryCollector::begin_step(std::int64_t step) {
    step_ = step;
    passes_ = 0;
    entries_.clear();
    device_offsets_.clear();
    device_->used = 0;
}

void TelemetryCollector::add(const std::string& layer,
                             TensorKind kind,
                             const torch::Tensor& x,
                             const kernels::FakeQuantParams* params) {
    TORCH_CHECK(x.defined(), "telemetry: ", layer, " (", to_string(kind), "): undefined tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16 ||
                    x.scalar_type() == torch::kHalf,
                "telemetry: ",
                layer,
                " (",
                to_string(kind),
                "): expects float32, bfloat16 or float16, got ",
                x.scalar_type());
    // (rows, cols) view with the last axis as the quantizer's reduction axis; a 0-d tensor is 1x1.
    const std::int64_t cols = x.dim() == 0 ? 1 : x.size(-1);
    const std::int64_t rows = cols == 0 ? 0 : x.numel() / cols;
    check_status(kernels::quant_stats_check_args(spec_, params, rows, cols), layer, kind, x, "any");

    TelemetryEntry entry;
    entry.layer = layer;
    entry.kind = kind;
    entry.shape = x.sizes().vec();
    if (params != nullptr) {
        entry.params = *params;
    }
    entry.uniform_counts.assign(static_cast<std::size_t>(spec_.uniform_bins), 0);
    entry.second_counts.assign(
        static_cast<std::size_t>(kernels::quant_stats_second_bins(spec_, params)), 0);
    const torch::Tensor input = x.to(torch::kFloat).contiguous();  // no copy when already so
    ++passes_;

    if (input.is_cpu()) {
        check_status(kernels::quant_stats_cpu_parallel(input.data_ptr<float>(),
                                                       rows,
                                                       cols,
                                                       params,
                                                       spec_,
                                                       &entry.stats,
                                                       entry.uniform_counts.data(),
                                                       entry.second_counts.data(),
                                                       util::kernel_threads()),
                     layer,
                     kind,
                     x,
                     "CPU");
        entries_.push_back(std::move(entry));
        device_offsets_.push_back(std::nullopt);
        return;
    }
#if LOWBIT_TORCH_CUDA
    TORCH_CHECK(input.is_cuda(), "telemetry: unsupported device ", x.device());
    const c10::cuda::CUDAGuard guard(input.device());
    DeviceResults& d = *device_;
    TORCH_CHECK(d.used == 0 || d.buffer.device() == input.device(),
                "telemetry: ",
                layer,
                " is on ",
                input.device(),
                " but this step's other CUDA tensors are on ",
                d.buffer.device());
    const std::size_t bytes = kernels::quant_stats_result_bytes(spec_, params);
    if (!d.buffer.defined() || d.buffer.device() != input.device() ||
        d.used + bytes > static_cast<std::size_t>(d.buffer.numel())) {
        // Grow (or move to this device): copy the blocks already written, stream-ordered.
        std::size_t capacity = d.buffer.defined() && d.buffer.device() == input.device()
                                   ? static_cast<std::size_t>(d.buffer.numel())
                                   : kInitialDeviceBytes;
        while (capacity < d.used + bytes) {
            capacity *= 2;
        }
        torch::Tensor grown = torch::empty({static_cast<std::int64_t>(capacity)},
                                           input.options().dtype(torch::kUInt8));
        if (d.used > 0) {
            const auto used = static_cast<std::int64_t>(d.used);
            grown.narrow(0, 0, used).copy_(d.buffer.narrow(0, 0, used));
        }
        d.buffer = grown;
    }
    // Torch's allocator returns 512-byte aligned blocks and every result block is a multiple of
    // kQuantStatsResultAlign, so every offset is aligned.
    check_status(kernels::launch_quant_stats(input.data_ptr<float>(),
                                             rows,
                                             cols,
                                             params,
                                             spec_,
                                             d.buffer.data_ptr<std::uint8_t>() + d.used,
                                             c10::cuda::getCurrentCUDAStream().stream()),
                 layer,
                 kind,
                 x,
                 "CUDA");
    entries_.push_back(std::move(entry));
    device_offsets_.push_back(d.used);
    d.used += bytes;
#else
    TORCH_CHECK(false,
                "telemetry: this build has no CUDA kernels; ",
                layer,
                " (",
                to_string(kind),
                ") is on ",
                x.device());
#endif
}

void TelemetryCollector::add_same_as(std::size_t entry, const std::string& layer, TensorKind kind) {
    TORCH_CHECK(entry < entries_.size(),
                "telemetry: ",
                layer,
                " (",
                to_string(kind),
                ") repeats entry ",
                entry,
                " but only ",
                entries_.size(),
                " are pending");
    TelemetryEntry copy = entries_[entry];
    copy.layer = layer;
    copy.kind = kind;
    entries_.push_back(std::move(copy));
    // A CUDA entry's results are decoded from the same result block into each copy.
    device_offsets_.push_back(device_offsets_[entry]);
}

std::vector<TelemetryEntry> TelemetryCollector::collect() {
    if (device_->used > 0) {
        // The one device-to-host copy of the step (synchronises the current stream).
        const torch::Tensor host =
            device_->buffer.narrow(0, 0, static_cast<std::int64_t>(device_->used)).to(torch::kCPU);
        const std::uint8_t* base = host.data_ptr<std::uint8_t>();
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (!device_offsets_[i]) {
                continue;
            }
            TelemetryEntry& e = entries_[i];
            const kernels::FakeQuantParams* params = e.params ? &*e.params : nullptr;
            const kernels::Status status = kernels::quant_stats_decode(base + *device_offsets_[i],
                                                                       params,
                                                                       spec_,
                                                                       &e.stats,
                                                                       e.uniform_counts.data(),
                                                                       e.second_counts.data());
            TORCH_CHECK(status == kernels::Status::kOk,
                        "telemetry: decoding the results of ",
                        e.layer,
                        " failed: ",
                        kernels::to_string(status));
        }
    }
    std::vector<TelemetryEntry> out = std::move(entries_);
    entries_.clear();
    device_offsets_.clear();
    device_->used = 0;
    return out;
}

std::size_t TelemetryCollector::flush(store::RunWriter& writer, std::int64_t run_id) {
    const std::vector<TelemetryEntry> entries = collect();
    for (const TelemetryEntry& e : entries) {
        writer.add_tensor_stats(tensor_stats_record(e, run_id, step_));
        for (const store::HistogramRecord& h : histogram_records(e, spec_, run_id, step_)) {
            writer.add_histogram(h);
        }
    }
    writer.flush_soon();  // now, or with the next steps' rows (the writer's age limit)
    return entries.size();
}

}  // namespace lowbit::telemetry
