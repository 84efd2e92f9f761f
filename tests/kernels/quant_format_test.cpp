// The format table (quant_format.h): names round-trip, the persisted numbering, the allowed uses
// the recipe relies on, code ranges against the formulas written out here, and the stored-state
// layout of quantized_adam_state.h against the table's byte cost.
#include "lowbit/kernels/quant_format.h"

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quantized_adam_state.h"

#include <gtest/gtest.h>

#include <string>

namespace lowbit::kernels {
namespace {

TEST(QuantFormat, NamesRoundTripAndUnknownNamesAreRejected) {
    for (const GranularityTraits& t : kGranularityTraits) {
        EXPECT_EQ(granularity_from_name(t.name), t.value) << t.name;
        EXPECT_STREQ(granularity_traits(t.value).name, t.name);
        EXPECT_STREQ(kGranularityNames[static_cast<std::size_t>(t.value)], t.name);
    }
    EXPECT_EQ(granularity_from_name("per_row"), std::nullopt);
    EXPECT_EQ(quant_grid_from_name("full"), QuantGrid::kFull);
    EXPECT_STREQ(quant_grid_name(QuantGrid::kReference), "reference");
    EXPECT_EQ(rounding_from_name("stochastic"), Rounding::kStochastic);
    EXPECT_STREQ(rounding_name(Rounding::kNearest), "nearest");
    EXPECT_EQ(second_moment_mapping_from_name("sqrt"), SecondMomentMapping::kSqrt);
    EXPECT_STREQ(second_moment_mapping_name(SecondMomentMapping::kLinear), "linear");
    EXPECT_EQ(rounding_from_name("Nearest"), std::nullopt);
    EXPECT_STREQ(quant_grid_name(static_cast<QuantGrid>(7)), "?");
    EXPECT_FALSE(is_valid(static_cast<Granularity>(kGranularityCount)));
}

TEST(QuantFormat, PersistedNumberingAndLayouts) {
    // A stored state's .format tensor holds these numbers.
    EXPECT_EQ(static_cast<int>(Granularity::kPerTensor), 0);
    EXPECT_EQ(static_cast<int>(Granularity::kPerChannel), 1);
    EXPECT_EQ(static_cast<int>(Granularity::kPerBlock), 2);
    EXPECT_EQ(granularity_traits(Granularity::kPerChannel).groups, ScaleGroups::kRows);
    EXPECT_EQ(granularity_traits(Granularity::kPerToken).groups, ScaleGroups::kRows);
    EXPECT_EQ(granularity_traits(Granularity::kPerGroup).groups, ScaleGroups::kRowGroups);
    EXPECT_EQ(granularity_traits(Granularity::kPerBlock).groups, ScaleGroups::kFlatBlocks);
    EXPECT_EQ(stored_state_granularity(Granularity::kPerGroup), Granularity::kPerBlock);
    EXPECT_EQ(stored_state_granularity(Granularity::kPerToken), Granularity::kPerChannel);
    EXPECT_EQ(stored_state_granularity(Granularity::kPerBlock), Granularity::kPerBlock);
}

TEST(QuantFormat, AllowedUsesAreTheRecipeRules) {
    const auto uses = [](Granularity g) {
        const GranularityTraits& t = granularity_traits(g);
        return std::string(t.for_weights ? "W" : "") + (t.for_activations ? "A" : "") +
               (t.for_states ? "S" : "");
    };
    EXPECT_EQ(uses(Granularity::kPerTensor), "WAS");
    EXPECT_EQ(uses(Granularity::kPerChannel), "WS");
    EXPECT_EQ(uses(Granularity::kPerBlock), "S");
    EXPECT_EQ(uses(Granularity::kPerToken), "A");
    EXPECT_EQ(uses(Granularity::kPerGroup), "WAS");
    EXPECT_EQ(uses(Granularity::kPerPosition), "A");
    // Rows of the (T, B·C) view: the only granularity whose kernel view is not the last axis.
    EXPECT_EQ(granularity_traits(Granularity::kPerPosition).groups, ScaleGroups::kRows);
    for (const GranularityTraits& t : kGranularityTraits) {
        EXPECT_EQ(t.view == KernelView::kPositionsFirst, t.value == Granularity::kPerPosition)
            << t.name;
    }
    EXPECT_EQ(granularity_from_name("per_position"), Granularity::kPerPosition);
}

TEST(QuantFormat, CodeRangesAreTheGridFormulas) {
    for (int bits = 2; bits <= 8; ++bits) {
        const int half = 1 << (bits - 1);
        for (const bool symmetric : {true, false}) {
            EXPECT_EQ(code_range(QuantGrid::kReference, bits, symmetric),
                      (CodeRange{-half, half - 1}));
        }
        EXPECT_EQ(code_range(QuantGrid::kFull, bits, true), (CodeRange{-half, half - 1}));
        EXPECT_EQ(code_range(QuantGrid::kFull, bits, false), (CodeRange{0, 2 * half - 1}));
        // Unsigned reference grid: Qn = 0, Qp = 2^b - 1 whatever the mode; the step divisor
        // stays Qp (symmetric) or 2*Qp (asymmetric).
        for (const bool symmetric : {true, false}) {
            EXPECT_EQ(code_range(QuantGrid::kReference, bits, symmetric, false),
                      (CodeRange{0, 2 * half - 1}));
            EXPECT_EQ(step_divisor(QuantGrid::kReference, bits, symmetric, false),
                      (symmetric ? 1 : 2) * (2 * half - 1));
            EXPECT_EQ(step_divisor(QuantGrid::kReference, bits, symmetric),
                      (symmetric ? 1 : 2) * (half - 1));
        }
        EXPECT_EQ(step_divisor(QuantGrid::kFull, bits, false), 2 * half - 1);
    }
    EXPECT_TRUE(grid_allows_unsigned(QuantGrid::kReference));
    EXPECT_FALSE(grid_allows_unsigned(QuantGrid::kFull));
}

TEST(QuantFormat, UnsignedIsRejectedOnTheFullGridAndItsCodesNeedMoreThanInt8) {
    FakeQuantParams p;
    p.grid = QuantGrid::kFull;
    p.is_signed = false;
    EXPECT_EQ(fake_quant_check_args(p, 2, 4), Status::kBadArgument);
    p.grid = QuantGrid::kReference;
    EXPECT_EQ(fake_quant_check_args(p, 2, 4), Status::kOk);
    // Hand-worked 2-bit symmetric unsigned: s = 3/3 = 1, codes clamp(x, 0, 3) rounded.
    p.bits = 2;
    p.granularity = Granularity::kPerTensor;
    const float x[4] = {-2.0f, 0.4f, 1.6f, 3.0f};
    float out[4];
    float s = 0.0f;
    ASSERT_EQ(fake_quant_ref(x, 1, 4, p, out, &s, nullptr), Status::kOk);
    EXPECT_EQ(s, 1.0f);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(out[2], 2.0f);
    EXPECT_EQ(out[3], 3.0f);
    std::int8_t codes[4];
    float z = 0.0f;
    p.bits = 8;
    EXPECT_EQ(fake_quant_codes_ref(x, 1, 4, p, codes, &s, &z), Status::kNoKernelForConfig);
    p.bits = 7;  // 0..127 fits
    ASSERT_EQ(fake_quant_codes_ref(x, 1, 4, p, codes, &s, &z), Status::kOk);
    EXPECT_EQ(codes[0], 0);
    EXPECT_EQ(codes[3], 127);
}

TEST(QuantFormat, StateLayoutBytesAreTheTableBytes) {
    struct Case {
        int bits;
        Granularity granularity;
        bool symmetric;
        std::int64_t block;
        std::int64_t rows;
        std::int64_t cols;
        std::int64_t bytes;  // worked out by hand
    };

    for (const Case& c : {Case{8, Granularity::kPerBlock, true, 256, 32, 128, 4096 + 16 * 4},
                          Case{4, Granularity::kPerBlock, false, 256, 32, 128, 2048 + 16 * 8},
                          Case{8, Granularity::kPerBlock, true, 256, 3, 100, 300 + 2 * 4},
                          Case{3, Granularity::kPerChannel, true, 256, 5, 7, 18 + 5 * 4},
                          Case{5, Granularity::kPerTensor, false, 256, 5, 7, 35 + 8},
                          Case{2, Granularity::kPerBlock, true, 1000, 0, 7, 0}}) {
        StateQuantFormat f;
        f.bits = c.bits;
        f.granularity = c.granularity;
        f.symmetric = c.symmetric;
        f.block_size = c.block;
        ASSERT_EQ(state_quant_check_args(f, c.rows, c.cols), Status::kOk);
        const StateQuantLayout l = state_quant_layout(f, c.rows, c.cols);
        const std::int64_t per_group = c.symmetric ? 4 : 8;
        EXPECT_EQ(l.code_bytes + l.num_groups * per_group, c.bytes) << c.bits << " " << c.rows;
        EXPECT_EQ(stored_state_bytes(l.n, l.group_len, c.bits, c.symmetric), c.bytes);
    }
}

TEST(QuantFormat, StatesStoreOnlyTheirOwnSpellingAndFakeQuantHasNoFlatBlocks) {
    StateQuantFormat f;
    for (const Granularity g : {Granularity::kPerToken, Granularity::kPerGroup}) {
        f.granularity = g;
        EXPECT_EQ(state_quant_check_args(f, 4, 128), Status::kBadArgument) << static_cast<int>(g);
    }
    FakeQuantParams p;
    p.granularity = Granularity::kPerBlock;
    p.group_size = 256;
    EXPECT_EQ(fake_quant_check_args(p, 4, 128), Status::kNoKernelForConfig);
    p.granularity = Granularity::kPerToken;
    EXPECT_EQ(fake_quant_num_groups(p, 4, 128), 4);
    p.granularity = static_cast<Granularity>(kGranularityCount);
    EXPECT_EQ(fake_quant_check_args(p, 4, 128), Status::kBadArgument);
}

}  // namespace
}  // namespace lowbit::kernels
