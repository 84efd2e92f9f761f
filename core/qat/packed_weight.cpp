// PackedWeight: packing through the kernels' bit packing (docs/efficientqat.md §Packed layout).
#include "lowbit/qat/packed_weight.h"

#include "lowbit/kernels/quant_format.h"

#include <stdexcept>

namespace lowbit::qat {

namespace {

void check_status(kernels::Status status, const char* what) {
    if (status != kernels::Status::kOk) {
        throw std::invalid_argument(std::string(what) + ": " + kernels::to_string(status));
    }
}

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

std::string shape_text(const torch::Tensor& t) {
    if (!t.defined()) {
        return "missing";
    }
    std::string text = "(";
    for (int64_t d = 0; d < t.dim(); ++d) {
        text += (d > 0 ? ", " : "") + std::to_string(t.size(d));
    }
    return text + ") " + std::string(c10::toString(t.scalar_type()));
}

void expect(const torch::Tensor& t,
            torch::ScalarType dtype,
            std::vector<int64_t> shape,
            const std::string& what,
            const char* name) {
    if (!t.defined() || t.scalar_type() != dtype || t.sizes() != torch::IntArrayRef(shape)) {
        torch::Tensor expected = torch::empty(shape, torch::TensorOptions().dtype(dtype));
        throw std::invalid_argument(what + ": " + name + " is " + shape_text(t) + ", expected " +
                                    shape_text(expected));
    }
}

}  // namespace

int64_t PackedWeight::stored_bytes() const {
    return qweight.numel() * 4 + qzeros.numel() * 4 + scales.numel() * 2 + g_idx.numel() * 4;
}

PackedWeight pack_weight(const torch::Tensor& codes,
                         const torch::Tensor& zero_points,
                         const torch::Tensor& steps,
                         GroupQuantSpec spec) {
    TORCH_CHECK(codes.dim() == 2, "pack_weight: codes must be (out, in), got ", codes.sizes());
    PackedWeight w;
    w.spec = spec;
    w.out = codes.size(0);
    w.in = codes.size(1);
    check_group_quant_spec(spec, w.in, "pack_weight");
    TORCH_CHECK(zero_points.sizes() == steps.sizes() && zero_points.size(0) == w.out &&
                    zero_points.size(1) == w.groups(),
                "pack_weight: zero points ",
                zero_points.sizes(),
                " and steps ",
                steps.sizes(),
                " must be (out, in/G) = (",
                w.out,
                ", ",
                w.groups(),
                ")");
    const int per_word = kernels::packed_codes_per_word(spec.bits);
    // The layout stores Wᵀ: codes (in, out) packed along the input.
    const torch::Tensor codes_t = codes.to(torch::kUInt8).t().contiguous().cpu();
    w.qweight = torch::empty({ceil_div(w.in, per_word), w.out}, torch::kInt32);
    check_status(kernels::pack_codes_along_rows(codes_t.data_ptr<uint8_t>(),
                                                w.in,
                                                w.out,
                                                spec.bits,
                                                reinterpret_cast<uint32_t*>(w.qweight.data_ptr())),
                 "pack_weight: a code does not fit its bits");
    const torch::Tensor zeros_t = zero_points.to(torch::kUInt8).t().contiguous().cpu();
    w.qzeros = torch::empty({w.groups(), ceil_div(w.out, per_word)}, torch::kInt32);
    check_status(kernels::pack_codes_along_cols(zeros_t.data_ptr<uint8_t>(),
                                                w.groups(),
                                                w.out,
                                                spec.bits,
                                                reinterpret_cast<uint32_t*>(w.qzeros.data_ptr())),
                 "pack_weight: a zero point does not fit its bits");
    w.scales = steps.detach().t().contiguous().cpu().to(torch::kFloat16);
    w.g_idx = torch::arange(w.in, torch::kInt32).div(spec.group_size, "floor").to(torch::kInt32);
    return w;
}

PackedWeight pack_weight(const torch::Tensor& weight, const GroupQuantizer& quantizer) {
    return pack_weight(quantizer.codes(weight),
                       quantizer.effective_zero_point(),
                       quantizer.effective_step(),
                       quantizer.spec());
}

void check_packed_weight(const PackedWeight& w, const std::string& what) {
    check_group_quant_spec(w.spec, w.in, what);
    const int per_word = kernels::packed_codes_per_word(w.spec.bits);
    expect(w.qweight, torch::kInt32, {ceil_div(w.in, per_word), w.out}, what, "qweight");
    expect(w.qzeros, torch::kInt32, {w.groups(), ceil_div(w.out, per_word)}, what, "qzeros");
    expect(w.scales, torch::kFloat16, {w.groups(), w.out}, what, "scales");
    expect(w.g_idx, torch::kInt32, {w.in}, what, "g_idx");
}

torch::Tensor unpack_codes(const PackedWeight& w) {
    const torch::Tensor words = w.qweight.contiguous().cpu();
    torch::Tensor codes_t = torch::empty({w.in, w.out}, torch::kUInt8);
    check_status(
        kernels::unpack_codes_along_rows(reinterpret_cast<const uint32_t*>(words.data_ptr()),
                                         w.in,
                                         w.out,
                                         w.spec.bits,
                                         codes_t.data_ptr<uint8_t>()),
        "unpack_codes");
    return codes_t.t().contiguous();
}

torch::Tensor unpack_zero_points(const PackedWeight& w) {
    const torch::Tensor words = w.qzeros.contiguous().cpu();
    torch::Tensor zeros_t = torch::empty({w.groups(), w.out}, torch::kUInt8);
    check_status(
        kernels::unpack_codes_along_cols(reinterpret_cast<const uint32_t*>(words.data_ptr()),
                                         w.groups(),
                                         w.out,
                                         w.spec.bits,
                                         zeros_t.data_ptr<uint8_t>()),
        "unpack_zero_points");
    return zeros_t.t().contiguous();
}

torch::Tensor dequantize(const PackedWeight& w) {
    PackedWeight on_cpu = w;
    on_cpu.qweight = w.qweight.contiguous().cpu();
    on_cpu.qzeros = w.qzeros.contiguous().cpu();
    const torch::Tensor steps = w.scales.to(torch::kCPU, torch::kFloat32).contiguous();
    torch::Tensor weight = torch::empty({w.out, w.in}, torch::kFloat32);
    check_status(
        kernels::packed_dequantize_ref(packed_view(on_cpu, steps), weight.data_ptr<float>()),
        "dequantize");
    return weight;
}

kernels::PackedWeightView packed_view(const PackedWeight& w, const torch::Tensor& steps_in_out) {
    TORCH_CHECK(steps_in_out.scalar_type() == torch::kFloat32 && steps_in_out.is_contiguous() &&
                    steps_in_out.size(0) == w.groups() && steps_in_out.size(1) == w.out,
                "packed_view: steps must be contiguous fp32 (in/G, out)");
    TORCH_CHECK(w.qweight.is_contiguous() && w.qzeros.is_contiguous(),
                "packed_view: packed words must be contiguous");
    kernels::PackedWeightView view;
    view.bits = w.spec.bits;
    view.in = w.in;
    view.out = w.out;
    view.group_size = w.spec.group_size;
    view.qweight = reinterpret_cast<const uint32_t*>(w.qweight.data_ptr());
    view.qzeros = reinterpret_cast<const uint32_t*>(w.qzeros.data_ptr());
    view.scales = steps_in_out.data_ptr<float>();
    return view;
}

}  // namespace lowbit::qat
