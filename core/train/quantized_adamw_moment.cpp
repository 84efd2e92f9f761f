// StoredMoment (quantized_adamw_moment.h): storage, conversions and checkpoint tensors of one
// Adam moment. Quantizing a whole moment happens only at construction and when loading a
// different format, so it runs the scalar reference on the CPU and moves the result over.
#include "quantized_adamw_moment.h"

#include "lowbit/util/exit_codes.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <vector>

namespace lowbit::train::detail {
namespace {

constexpr int64_t kFormatFields = 6;  // bits, symmetric, grid, granularity, block size, mapping

torch::Tensor format_tensor(const kernels::StateQuantFormat& f,
                            kernels::SecondMomentMapping mapping) {
    return torch::tensor({static_cast<int64_t>(f.bits),
                          static_cast<int64_t>(f.symmetric),
                          static_cast<int64_t>(f.grid),
                          static_cast<int64_t>(f.granularity),
                          f.block_size,
                          static_cast<int64_t>(mapping)},
                         torch::kInt64);
}

struct SavedFormat {
    kernels::StateQuantFormat format;
    kernels::SecondMomentMapping mapping;
};

SavedFormat parse_format(const torch::Tensor& t, const std::string& key) {
    if (t.numel() != kFormatFields) {
        throw util::BadInput("optimizer state tensor '" + key + "' has " +
                             std::to_string(t.numel()) + " values, expected " +
                             std::to_string(kFormatFields));
    }
    const torch::Tensor v = t.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t* p = v.data_ptr<int64_t>();
    SavedFormat saved;
    saved.format.bits = static_cast<int>(p[0]);
    saved.format.symmetric = p[1] != 0;
    saved.format.grid = static_cast<kernels::QuantGrid>(p[2]);
    saved.format.granularity = static_cast<kernels::Granularity>(p[3]);
    saved.format.block_size = p[4];
    saved.mapping = static_cast<kernels::SecondMomentMapping>(p[5]);
    if (kernels::state_quant_check_args(saved.format, 0, 0) != kernels::Status::kOk ||
        (p[5] != 0 && p[5] != 1) || (p[2] != 0 && p[2] != 1)) {
        throw util::BadInput("optimizer state tensor '" + key + "' holds an unknown format " +
                             c10::str(v.view({-1})));
    }
    return saved;
}

// Everything that decides what the codes mean (min_range only affects future scales).
bool same_encoding(const kernels::StateQuantFormat& a, const kernels::StateQuantFormat& b) {
    return a.bits == b.bits && a.symmetric == b.symmetric && a.grid == b.grid &&
           a.granularity == b.granularity &&
           (a.granularity != kernels::Granularity::kPerBlock || a.block_size == b.block_size);
}

const torch::Tensor& find(const std::map<std::string, torch::Tensor>& by_name,
                          const std::string& name) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
        throw util::BadInput("optimizer state is missing tensor '" + name + "'");
    }
    return it->second;
}

void expect_numel(const torch::Tensor& t, int64_t numel, const std::string& name) {
    if (t.numel() != numel) {
        throw util::BadInput("optimizer state tensor '" + name + "' has " +
                             std::to_string(t.numel()) + " values, expected " +
                             std::to_string(numel));
    }
}

}  // namespace

std::pair<int64_t, int64_t> moment_view_shape(const torch::Tensor& param) {
    if (param.dim() == 0) {
        return {1, 1};
    }
    const int64_t cols = param.size(-1);
    return {cols == 0 ? 0 : param.numel() / cols, cols};
}

void check_kernel_status(kernels::Status status, const std::string& what, const std::string& name) {
    TORCH_CHECK(status == kernels::Status::kOk,
                what,
                " failed (",
                kernels::to_string(status),
                ") for parameter '",
                name,
                "'");
}

StoredMoment::StoredMoment(const torch::Tensor& param,
                           std::optional<kernels::StateQuantFormat> format,
                           kernels::SecondMomentMapping mapping)
    : format_(format), mapping_(mapping), shape_(param.sizes().vec()), device_(param.device()) {
    std::tie(rows_, cols_) = moment_view_shape(param);
    if (!format_) {
        values_ = torch::zeros_like(param, torch::kFloat32);
        return;
    }
    const kernels::StateQuantLayout layout = kernels::state_quant_layout(*format_, rows_, cols_);
    const auto on = torch::TensorOptions().device(device_);
    // Every group of a zero moment quantizes alike: take the code, scale and offset of a single
    // zero from the reference and fill, rather than quantizing an (n,) float32 zero tensor (a
    // transient of 4n bytes per moment would defeat the memory saving at construction).
    const float zero = 0.0f;
    uint8_t code = 0;
    float scale = 0.0f;
    float offset = 0.0f;
    check_kernel_status(
        kernels::state_quantize_ref(&zero, 1, 1, *format_, mapping_, {&code, &scale, &offset}),
        "quantize a zero optimizer state",
        "");
    const int fill = layout.packed ? (code | (code << 4)) : code;
    codes_ = torch::full({layout.code_bytes}, fill, on.dtype(torch::kUInt8));
    if (layout.packed && layout.n % 2 == 1) {
        codes_[layout.code_bytes - 1] = code;  // the unused high nibble of an odd state is 0
    }
    scales_ = torch::full({layout.num_groups}, scale, on.dtype(torch::kFloat32));
    if (!format_->symmetric) {
        zero_points_ = torch::full({layout.num_groups}, offset, on.dtype(torch::kFloat32));
    }
}

kernels::AdamMoment StoredMoment::kernel_view() {
    kernels::AdamMoment m;
    if (!format_) {
        m.values = values_.data_ptr<float>();
        return m;
    }
    m.format = &*format_;
    m.quantized.codes = codes_.data_ptr<uint8_t>();
    m.quantized.scales = scales_.data_ptr<float>();
    m.quantized.zero_points = zero_points_.defined() ? zero_points_.data_ptr<float>() : nullptr;
    return m;
}

torch::Tensor StoredMoment::dequantized() const {
    if (!format_) {
        return values_.clone();
    }
    torch::Tensor out = torch::empty(shape_, torch::TensorOptions().device(device_));
    const kernels::QuantizedStateBuffers buffers{
        codes_.data_ptr<uint8_t>(),
        scales_.data_ptr<float>(),
        zero_points_.defined() ? zero_points_.data_ptr<float>() : nullptr};
    if (device_.is_cpu()) {
        check_kernel_status(kernels::state_dequantize_ref(
                                buffers, rows_, cols_, *format_, mapping_, out.data_ptr<float>()),
                            "dequantize optimizer state",
                            "");
        return out;
    }
#if LOWBIT_TORCH_CUDA
    const c10::cuda::CUDAGuard guard(device_);
    check_kernel_status(
        kernels::launch_state_dequantize(buffers,
                                         rows_,
                                         cols_,
                                         *format_,
                                         mapping_,
                                         out.data_ptr<float>(),
                                         c10::cuda::getCurrentCUDAStream().stream()),
        "dequantize optimizer state (CUDA)",
        "");
    return out;
#else
    TORCH_CHECK(false, "optimizer state on ", device_, " but this build has no CUDA kernels");
#endif
}

void StoredMoment::assign(const torch::Tensor& values) {
    torch::NoGradGuard no_grad;
    if (!format_) {
        values_.copy_(values.reshape(shape_));
        return;
    }
    const torch::Tensor x = values.to(torch::kCPU, torch::kFloat32).contiguous();
    torch::Tensor codes = torch::empty_like(codes_, torch::TensorOptions().device(torch::kCPU));
    torch::Tensor scales = torch::empty_like(scales_, torch::TensorOptions().device(torch::kCPU));
    torch::Tensor zeros =
        zero_points_.defined()
            ? torch::empty_like(zero_points_, torch::TensorOptions().device(torch::kCPU))
            : torch::Tensor();
    check_kernel_status(
        kernels::state_quantize_ref(x.data_ptr<float>(),
                                    rows_,
                                    cols_,
                                    *format_,
                                    mapping_,
                                    {codes.data_ptr<uint8_t>(),
                                     scales.data_ptr<float>(),
                                     zeros.defined() ? zeros.data_ptr<float>() : nullptr}),
        "quantize optimizer state",
        "");
    codes_.copy_(codes);
    scales_.copy_(scales);
    if (zero_points_.defined()) {
        zero_points_.copy_(zeros);
    }
}

int64_t StoredMoment::bytes() const {
    int64_t total = 0;
    for (const torch::Tensor* t : {&codes_, &scales_, &zero_points_, &values_}) {
        total += t->defined() ? static_cast<int64_t>(t->nbytes()) : 0;
    }
    return total;
}

void StoredMoment::append_state(const std::string& key, OptimizerState* out) const {
    if (!format_) {
        out->emplace_back(key, values_);
        return;
    }
    out->emplace_back(key + ".codes", codes_);
    out->emplace_back(key + ".scales", scales_);
    if (zero_points_.defined()) {
        out->emplace_back(key + ".zero_points", zero_points_);
    }
    out->emplace_back(key + ".format", format_tensor(*format_, mapping_));
}

void StoredMoment::load_state(const std::string& key,
                              const std::map<std::string, torch::Tensor>& by_name) {
    torch::NoGradGuard no_grad;
    const int64_t n = rows_ * cols_;
    if (by_name.count(key + ".codes") == 0) {
        // A float32 moment (an AdamW checkpoint, or this slot was float32 when saved).
        const torch::Tensor& values = find(by_name, key);
        if (values.sizes() != c10::IntArrayRef(shape_)) {
            throw util::BadInput("optimizer state tensor '" + key + "' has shape " +
                                 c10::str(values.sizes()) + ", expected " +
                                 c10::str(c10::IntArrayRef(shape_)));
        }
        assign(values);
        return;
    }
    const SavedFormat saved = parse_format(find(by_name, key + ".format"), key + ".format");
    const kernels::StateQuantLayout layout =
        kernels::state_quant_layout(saved.format, rows_, cols_);
    const torch::Tensor& codes = find(by_name, key + ".codes");
    const torch::Tensor& scales = find(by_name, key + ".scales");
    expect_numel(codes, layout.code_bytes, key + ".codes");
    expect_numel(scales, layout.num_groups, key + ".scales");
    torch::Tensor zeros;
    if (!saved.format.symmetric) {
        zeros = find(by_name, key + ".zero_points");
        expect_numel(zeros, layout.num_groups, key + ".zero_points");
    }
    if (format_ && same_encoding(*format_, saved.format) && saved.mapping == mapping_) {
        codes_.copy_(codes.view({-1}).to(torch::kUInt8));  // bit-exact resume
        scales_.copy_(scales.view({-1}).to(torch::kFloat32));
        if (zero_points_.defined()) {
            zero_points_.copy_(zeros.view({-1}).to(torch::kFloat32));
        }
        return;
    }
    // Another encoding: through float32, as the values the saved codes stand for.
    const torch::Tensor c = codes.to(torch::kCPU, torch::kUInt8).contiguous();
    const torch::Tensor s = scales.to(torch::kCPU, torch::kFloat32).contiguous();
    const torch::Tensor z =
        zeros.defined() ? zeros.to(torch::kCPU, torch::kFloat32).contiguous() : torch::Tensor();
    torch::Tensor values = torch::empty({n}, torch::kFloat32);
    check_kernel_status(kernels::state_dequantize_ref({c.data_ptr<uint8_t>(),
                                                       s.data_ptr<float>(),
                                                       z.defined() ? z.data_ptr<float>() : nullptr},
                                                      rows_,
                                                      cols_,
                                                      saved.format,
                                                      saved.mapping,
                                                      values.data_ptr<float>()),
                        "dequantize saved optimizer state",
                        key);
    assign(values.view(shape_));
}

}  // namespace lowbit::train::detail
