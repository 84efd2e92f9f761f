// QuantizedAdamW: its parameter trajectory over 100 steps against a reference AdamW written here
// with plain torch ops that keeps float32 moments and fake-quantizes them at the start of every
// step (the reference code's dataflow, docs/quantized-pretraining.md §Quantized AdamW), equal
// with tolerance 0; with quantizers off against the existing AdamW; the measured state bytes
// against float32 m + v; a checkpoint round trip through core/train/checkpoint; the telemetry
// view; format conversion and bad input.
#include "lowbit/train/quantized_adamw.h"

#include "lowbit/kernels/quantized_adam_state.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/train/adamw.h"
#include "lowbit/train/checkpoint.h"
#include "lowbit/util/exit_codes.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

namespace lowbit::train {
namespace {

using kernels::Granularity;
using kernels::SecondMomentMapping;
using kernels::StateQuantFormat;

constexpr double kLr = 3e-3;
const AdamWOptions kOptions{.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};

StateQuantFormat format(int bits,
                        Granularity granularity,
                        bool symmetric = true,
                        std::int64_t block = 256,
                        kernels::QuantGrid grid = kernels::QuantGrid::kReference) {
    StateQuantFormat f;
    f.bits = bits;
    f.granularity = granularity;
    f.symmetric = symmetric;
    f.block_size = block;
    f.grid = grid;
    return f;
}

// Q(x) of a stored format, computed with lowbit::quant::fake_quantize (the fake quantizer the
// layers use): per tensor / per row directly; blocks as consecutive slices of the flattened
// tensor, each fake-quantized per tensor (so a last, shorter block is handled as the format says).
torch::Tensor fake_quantize_state(const torch::Tensor& x, const StateQuantFormat& f) {
    kernels::FakeQuantParams p = kernels::state_group_fake_quant_params(f);
    if (f.granularity == Granularity::kPerChannel) {
        p.granularity = kernels::Granularity::kPerChannel;
        return quant::fake_quantize(x.dim() == 1 ? x.view({1, -1}) : x, p).view(x.sizes());
    }
    if (f.granularity == Granularity::kPerTensor) {
        return quant::fake_quantize(x.reshape({1, -1}), p).view(x.sizes());
    }
    std::vector<torch::Tensor> blocks;
    for (const torch::Tensor& block : x.reshape({-1}).split(f.block_size)) {
        blocks.push_back(quant::fake_quantize(block.view({1, -1}), p).view({-1}));
    }
    return torch::cat(blocks).view(x.sizes());
}

// Correctly rounded float32 sqrt (IEEE 754, as the kernels' sqrt). torch's own float32 CPU sqrt
// is a vectorised approximation that is off by one ulp for ~16% of inputs, so the reference takes
// the float64 sqrt and rounds it: exact, because 53 >= 2 * 24 + 2 bits make double rounding of a
// square root innocuous.
torch::Tensor ieee_sqrt(const torch::Tensor& x) {
    return x.to(torch::kFloat64).sqrt().to(torch::kFloat32);
}

// The reference: AdamW with float32 moments, quantized at the start of each step (the reference
// code's dataflow), written with elementwise tensor-tensor ops (the scalars as full tensors), each
// rounded on its own, in the order documented in kernels/quantized_adam.h.
struct ReferenceAdamW {
    torch::Tensor param;
    torch::Tensor m;
    torch::Tensor v;
    std::optional<StateQuantFormat> m_format;
    std::optional<StateQuantFormat> v_format;
    SecondMomentMapping mapping = SecondMomentMapping::kLinear;
    bool decay = true;
    int64_t t = 0;

    void step(const torch::Tensor& g) {
        ++t;
        auto scalar = [&](double value) {
            return torch::full_like(param, static_cast<float>(value));
        };
        const double b1 = kOptions.beta1;
        const double b2 = kOptions.beta2;
        torch::Tensor m_old = m_format ? fake_quantize_state(m, *m_format) : m;
        torch::Tensor v_old = v;
        if (v_format) {
            if (mapping == SecondMomentMapping::kSqrt) {
                const torch::Tensor root = fake_quantize_state(ieee_sqrt(v), *v_format);
                v_old = root * root;
            } else {
                v_old = fake_quantize_state(v, *v_format);
            }
        }
        const double wd = decay ? kOptions.weight_decay : 0.0;
        const torch::Tensor decayed = param * scalar(1.0 - kLr * wd);
        m = m_old * scalar(b1) + g * scalar(1.0 - b1);
        v = v_old * scalar(b2) + (g * g) * scalar(1.0 - b2);
        const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
        const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
        const torch::Tensor denom = ieee_sqrt(v) / scalar(bc2_sqrt) + scalar(kOptions.eps);
        param = decayed - scalar(kLr / bc1) * (m / denom);
    }
};

// Step t's gradient: N(0, 1e-2) with a few large entries and exact zeros, fixed by the seed.
torch::Tensor gradient(const torch::IntArrayRef shape, int64_t step) {
    torch::manual_seed(1000 + static_cast<uint64_t>(step));
    torch::Tensor g = torch::randn(shape) * 1e-2;
    g.view({-1}).index_put_({torch::indexing::Slice(0, torch::indexing::None, 11)}, 0.0f);
    g.view({-1}).index_put_({torch::indexing::Slice(3, torch::indexing::None, 97)}, 1.0f);
    return g;
}

struct TrajectoryCase {
    std::optional<StateQuantFormat> m;
    std::optional<StateQuantFormat> v;
    SecondMomentMapping mapping = SecondMomentMapping::kLinear;
    std::string name;
};

std::vector<TrajectoryCase> trajectory_cases() {
    using G = Granularity;
    return {
        {format(8, G::kPerChannel), std::nullopt, SecondMomentMapping::kLinear, "m8 per-row"},
        {format(8, G::kPerTensor), std::nullopt, SecondMomentMapping::kLinear, "m8 per-tensor"},
        {format(4, G::kPerChannel), std::nullopt, SecondMomentMapping::kLinear, "m4 per-row"},
        {format(4, G::kPerTensor), std::nullopt, SecondMomentMapping::kLinear, "m4 per-tensor"},
        {std::nullopt, format(8, G::kPerChannel), SecondMomentMapping::kLinear, "v8 per-row"},
        {format(8, G::kPerBlock, true, 256),
         format(8, G::kPerBlock, true, 256),
         SecondMomentMapping::kLinear,
         "m8 v8 blocks of 256 (straddling rows)"},
        {format(4, G::kPerBlock, false, 64),
         format(4, G::kPerBlock, true, 64),
         SecondMomentMapping::kSqrt,
         "m4 asym v4 sqrt blocks of 64"},
        {format(3, G::kPerChannel, false, 256, kernels::QuantGrid::kFull),
         format(8, G::kPerTensor),
         SecondMomentMapping::kSqrt,
         "m3 full-grid per-row, v8 sqrt per-tensor"},
    };
}

// Exact trajectory. The optimizer's kernel and the reference perform the same IEEE float32
// operations in the same order (no fused multiply-add on either side, correctly rounded sqrt), and
// the stored codes dequantize to exactly fake_quant(m_t), so the trajectories are equal with
// tolerance 0. (The one representational difference, a stored zero being +0 where fake_quant may
// give -0, cannot change any later value: b1*(+-0) + (1-b1)*g is the same number for both signs.)
TEST(QuantizedAdamW, TrajectoryOver100StepsEqualsReferenceAdamWWithFakeQuantizedStates) {
    for (const TrajectoryCase& c : trajectory_cases()) {
        torch::manual_seed(7);
        const torch::Tensor w0 = torch::randn({24, 40}) * 0.05;
        const torch::Tensor b0 = torch::randn({40}) * 0.05;
        torch::Tensor w = w0.clone();
        torch::Tensor b = b0.clone();
        QuantizedAdamW optimizer(
            {{"w", w, c.m, c.v}, {"b", b, std::nullopt, std::nullopt}}, kOptions, c.mapping);
        ReferenceAdamW ref_w{
            w0.clone(), torch::zeros_like(w0), torch::zeros_like(w0), c.m, c.v, c.mapping, true};
        ReferenceAdamW ref_b{b0.clone(),
                             torch::zeros_like(b0),
                             torch::zeros_like(b0),
                             std::nullopt,
                             std::nullopt,
                             c.mapping,
                             false};
        for (int64_t t = 1; t <= 100; ++t) {
            const torch::Tensor gw = gradient(w.sizes(), t);
            const torch::Tensor gb = gradient(b.sizes(), t + 7777);
            w.mutable_grad() = gw.clone();
            b.mutable_grad() = gb.clone();
            optimizer.step(kLr);
            ref_w.step(gw);
            ref_b.step(gb);
            ASSERT_TRUE(torch::equal(w, ref_w.param))
                << c.name << ": step " << t << " max |diff| "
                << (w - ref_w.param).abs().max().item<float>();
            ASSERT_TRUE(torch::allclose(b, ref_b.param, 0.0, 1e-6))
                << c.name << " bias, step " << t;
        }
        // The telemetry view holds exactly the fake-quantized moments the next step will use.
        const std::vector<QuantizedMomentsView> views = optimizer.quantized_moments();
        ASSERT_EQ(views.size(), 1u);
        EXPECT_EQ(views[0].name, "w");
        const torch::Tensor m_hat = c.m ? fake_quantize_state(ref_w.m, *c.m) : ref_w.m;
        EXPECT_TRUE(torch::equal(views[0].m, m_hat)) << c.name;
        torch::Tensor v_hat = ref_w.v;
        if (c.v && c.mapping == SecondMomentMapping::kSqrt) {
            const torch::Tensor root = fake_quantize_state(ieee_sqrt(ref_w.v), *c.v);
            v_hat = root * root;
        } else if (c.v) {
            v_hat = fake_quantize_state(ref_w.v, *c.v);
        }
        EXPECT_TRUE(torch::equal(views[0].v, v_hat)) << c.name;
        if (c.m && c.m->granularity != Granularity::kPerBlock) {
            ASSERT_TRUE(views[0].m_params.has_value());
            EXPECT_TRUE(torch::equal(quant::fake_quantize(ref_w.m, *views[0].m_params), m_hat));
        }
    }
}

// The bias above is compared with allclose rather than equal only because AdamW's float32 path
// uses lerp/addcmul/addcdiv (other roundings than the reference's plain ops); this test pins the
// unquantized path to the existing AdamW exactly.
TEST(QuantizedAdamW, WithoutQuantizersEqualsAdamWBitForBit) {
    torch::manual_seed(3);
    const torch::Tensor w0 = torch::randn({16, 9});
    const torch::Tensor b0 = torch::randn({9});
    torch::Tensor w1 = w0.clone(), b1 = b0.clone(), w2 = w0.clone(), b2 = b0.clone();
    AdamW plain({{"w", w1}, {"b", b1}}, kOptions);
    QuantizedAdamW quantized(
        {{"w", w2, std::nullopt, std::nullopt}, {"b", b2, std::nullopt, std::nullopt}}, kOptions);
    for (int64_t t = 1; t <= 30; ++t) {
        for (auto* p : {&w1, &w2}) {
            p->mutable_grad() = gradient(w0.sizes(), t);
        }
        for (auto* p : {&b1, &b2}) {
            p->mutable_grad() = gradient(b0.sizes(), -t);
        }
        plain.step(kLr);
        quantized.step(kLr);
    }
    EXPECT_TRUE(torch::equal(w1, w2));
    EXPECT_TRUE(torch::equal(b1, b2));
    EXPECT_EQ(quantized.steps_taken(), 30);
    EXPECT_EQ(quantized.state_bytes(), plain.state_bytes());
    // Same state names as AdamW, so AdamW checkpoints load.
    const OptimizerState a = plain.state();
    const OptimizerState q = quantized.state();
    ASSERT_EQ(a.size(), q.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].first, q[i].first);
        EXPECT_TRUE(torch::equal(a[i].second, q[i].second)) << a[i].first;
    }
}

// Memory of the stored moments: a GPT-2 fc1 weight (768 x 3072). Expected ratios (codes + 4-byte
// scales [+ 4-byte zero points]) / 8 bytes: 8-bit blocks of 256 (1 + 4/256)/4 = 0.254; 4-bit
// (0.5 + 4/256)/4 = 0.129; asymmetric adds 4/256/4 = 0.004.
TEST(QuantizedAdamW, StateBytesAgainstFloat32Moments) {
    const torch::Tensor w = torch::zeros({768, 3072});
    AdamW fp32({{"w", w}}, kOptions);
    const double fp32_bytes = static_cast<double>(fp32.state_bytes());
    EXPECT_EQ(fp32.state_bytes(), 2 * 768 * 3072 * 4);

    struct Case {
        int bits;
        Granularity granularity;
        bool symmetric;
        double limit;
    };

    for (const Case& c : {Case{8, Granularity::kPerBlock, true, 0.27},
                          Case{8, Granularity::kPerBlock, false, 0.27},
                          Case{8, Granularity::kPerChannel, true, 0.27},
                          Case{4, Granularity::kPerBlock, true, 0.14},
                          Case{4, Granularity::kPerBlock, false, 0.14},
                          Case{4, Granularity::kPerChannel, true, 0.14}}) {
        const StateQuantFormat f = format(c.bits, c.granularity, c.symmetric);
        QuantizedAdamW q({{"w", w, f, f}}, kOptions);
        const double ratio = static_cast<double>(q.state_bytes()) / fp32_bytes;
        const double groups = c.granularity == Granularity::kPerBlock ? 768.0 * 3072 / 256 : 768.0;
        const double expected =
            2 * (768.0 * 3072 * c.bits / 8 + groups * 4 * (c.symmetric ? 1 : 2)) / fp32_bytes;
        EXPECT_DOUBLE_EQ(ratio, expected) << c.bits << " bits";
        EXPECT_LE(ratio, c.limit) << c.bits << " bits";
    }
}

class QuantizedAdamWCheckpoint : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("lowbit-qadamw-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
    }

    void TearDown() override {
        std::filesystem::remove_all(dir_);
    }

    OptimizerState round_trip(const torch::Tensor& param, const OptimizerState& state) {
        CheckpointContent content;
        content.step = 5;
        content.model = {{"w", param}};
        content.optimizer = state;
        const WrittenCheckpoint written = write_checkpoint(checkpoint_dir_name(dir_, 5), content);
        return read_checkpoint(written.dir, written.manifest_sha256).optimizer;
    }

    std::filesystem::path dir_;
};

TEST_F(QuantizedAdamWCheckpoint, ResumeIsBitExact) {
    const StateQuantFormat m = format(4, Granularity::kPerBlock, false, 100);
    const StateQuantFormat v = format(8, Granularity::kPerChannel);
    torch::manual_seed(11);
    torch::Tensor w = torch::randn({30, 50});
    QuantizedAdamW first({{"w", w, m, v}}, kOptions, SecondMomentMapping::kSqrt);
    for (int64_t t = 1; t <= 5; ++t) {
        w.mutable_grad() = gradient(w.sizes(), t);
        first.step(kLr);
    }
    const OptimizerState saved = first.state();
    torch::Tensor w_resumed = w.detach().clone();
    QuantizedAdamW resumed({{"w", w_resumed, m, v}}, kOptions, SecondMomentMapping::kSqrt);
    resumed.load_state(round_trip(w, saved));
    EXPECT_EQ(resumed.steps_taken(), 5);
    const OptimizerState loaded = resumed.state();
    ASSERT_EQ(loaded.size(), saved.size());
    for (std::size_t i = 0; i < saved.size(); ++i) {
        EXPECT_EQ(loaded[i].first, saved[i].first);
        EXPECT_TRUE(torch::equal(loaded[i].second, saved[i].second)) << saved[i].first;
    }
    for (int64_t t = 6; t <= 8; ++t) {
        w.mutable_grad() = gradient(w.sizes(), t);
        w_resumed.mutable_grad() = gradient(w.sizes(), t);
        first.step(kLr);
        resumed.step(kLr);
        ASSERT_TRUE(torch::equal(w, w_resumed)) << "step " << t;
    }
    const OptimizerState after_first = first.state();
    const OptimizerState after_resumed = resumed.state();
    for (std::size_t i = 0; i < after_first.size(); ++i) {
        EXPECT_TRUE(torch::equal(after_first[i].second, after_resumed[i].second))
            << after_first[i].first;
    }
}

TEST_F(QuantizedAdamWCheckpoint, Float32StateLoadsIntoQuantizedSlotsAsTheReferenceWould) {
    // An AdamW checkpoint resumed with 8-bit states: the fp32 moments are quantized, which is
    // exactly what the reference code does at the start of its next step.
    torch::manual_seed(12);
    torch::Tensor w = torch::randn({8, 12});
    AdamW plain({{"w", w}}, kOptions);
    for (int64_t t = 1; t <= 3; ++t) {
        w.mutable_grad() = gradient(w.sizes(), t);
        plain.step(kLr);
    }
    const StateQuantFormat f = format(8, Granularity::kPerChannel);
    QuantizedAdamW q({{"w", w.detach().clone(), f, f}}, kOptions);
    q.load_state(round_trip(w, plain.state()));
    const QuantizedMomentsView view = q.quantized_moments().at(0);
    const OptimizerState fp32 = plain.state();
    EXPECT_TRUE(torch::equal(view.m, fake_quantize_state(fp32[0].second, f)));
    EXPECT_TRUE(torch::equal(view.v, fake_quantize_state(fp32[1].second, f)));
}

TEST_F(QuantizedAdamWCheckpoint, MissingOrMisshapenTensorsAreBadInput) {
    const StateQuantFormat f = format(8, Granularity::kPerBlock);
    torch::Tensor w = torch::randn({4, 6});
    QuantizedAdamW q({{"w", w, f, f}}, kOptions);
    OptimizerState state = q.state();
    OptimizerState missing(state.begin() + 1, state.end());
    EXPECT_THROW(q.load_state(missing), util::BadInput);
    for (auto& [name, tensor] : state) {
        if (name == "w.exp_avg.codes") {
            tensor = torch::zeros({5}, torch::kUInt8);
        }
    }
    try {
        q.load_state(state);
        FAIL() << "expected BadInput";
    } catch (const util::BadInput& e) {
        EXPECT_NE(std::string(e.what()).find("w.exp_avg.codes"), std::string::npos) << e.what();
    }
}

TEST(QuantizedAdamW, FormatFromRecipeEntriesAndFakeQuantParams) {
    config::QuantizerSpec spec;
    EXPECT_FALSE(state_quant_format(spec).has_value());  // bits 32: off
    spec.bits = 4;
    spec.granularity = config::Granularity::kPerGroup;
    spec.group_size = 256;
    spec.symmetric = false;
    spec.min_range = 1e-8;
    const std::optional<StateQuantFormat> f = state_quant_format(spec);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->bits, 4);
    EXPECT_EQ(f->granularity, Granularity::kPerBlock);
    EXPECT_EQ(f->block_size, 256);
    EXPECT_FALSE(f->symmetric);
    EXPECT_EQ(f->min_range, 1e-8f);
    spec.granularity = config::Granularity::kPerChannel;
    EXPECT_EQ(state_quant_format(spec)->granularity, Granularity::kPerChannel);
    // The recipe's mapping is the kernels' own enum (quant_format.h): no translation.
    static_assert(std::is_same_v<config::SecondMomentMapping, SecondMomentMapping>);
    EXPECT_EQ(config::QuantSpec{}.optim_v_mapping, SecondMomentMapping::kLinear);
    spec.rounding = config::Rounding::kStochastic;
    EXPECT_THROW(state_quant_format(spec), util::BadInput);
}

TEST(QuantizedAdamW, RejectsBadFormatsAndNonFloatParameters) {
    StateQuantFormat bad = format(9, Granularity::kPerChannel);
    EXPECT_THROW(QuantizedAdamW({{"w", torch::zeros({2, 2}), bad, std::nullopt}}, kOptions),
                 util::BadInput);
    EXPECT_THROW(
        QuantizedAdamW({{"w", torch::zeros({2, 2}, torch::kFloat64), std::nullopt, std::nullopt}},
                       kOptions),
        util::BadInput);
}

}  // namespace
}  // namespace lowbit::train
