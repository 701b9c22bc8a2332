#include "model_files/weight_conversion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::model_files {
namespace {

std::vector<float> ramp(std::size_t n) {
    std::vector<float> values(n);
    for (std::size_t i = 0; i < n; ++i) {
        values[i] = std::sin(0.37f * static_cast<float>(i)) * 0.5f;
    }
    return values;
}

core::Tensor f16_tensor(const core::Shape& shape, const std::vector<float>& values) {
    core::Tensor t = core::Tensor::empty(ND_DTYPE_F16, shape);
    for (std::size_t i = 0; i < values.size(); ++i) {
        t.data_as<std::uint16_t>()[i] = core::f32_to_f16(values[i]);
    }
    return t;
}

TEST(WeightConversion, Q8_0_rows_match_the_quantizer_on_the_widened_values) {
    const std::vector<float> values = ramp(64 * 96);
    const core::Tensor source = f16_tensor({64, 96}, values);
    const core::Tensor converted = convert_weight(source, ND_DTYPE_Q8_0);
    ASSERT_EQ(converted.dtype(), ND_DTYPE_Q8_0);
    ASSERT_EQ(converted.shape(), core::Shape({64, 96}));
    std::vector<float> widened(96);
    std::vector<std::byte> expected(core::dtype_row_bytes(ND_DTYPE_Q8_0, 96));
    for (int r = 0; r < 64; ++r) {
        for (int c = 0; c < 96; ++c) {
            widened[c] = core::f16_to_f32(core::f32_to_f16(values[static_cast<std::size_t>(r * 96 + c)]));
        }
        backends::cpu::quant::quantize_row(ND_DTYPE_Q8_0, widened, expected);
        ASSERT_EQ(std::memcmp(converted.data() + r * expected.size(), expected.data(), expected.size()), 0) << "row " << r;
    }
}

TEST(WeightConversion, Threads_produce_the_same_bytes_as_one) {
    const core::Tensor source = f16_tensor({96, 256}, ramp(96 * 256));
    core::ThreadPool pool(4);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_K, ND_DTYPE_F32}) {
        const core::Tensor alone = convert_weight(source, type);
        const core::Tensor spread = convert_weight(source, type, &pool);
        ASSERT_EQ(alone.packed_bytes(), spread.packed_bytes());
        EXPECT_EQ(std::memcmp(alone.data(), spread.data(), alone.packed_bytes()), 0) << core::dtype_name(type);
    }
}

TEST(WeightConversion, Quantized_conv_weight_becomes_its_matrix) {
    const std::vector<float> values = ramp(8 * 32 * 3 * 3);
    const core::Tensor converted = convert_weight(f16_tensor({8, 32, 3, 3}, values), ND_DTYPE_Q4_0);
    EXPECT_EQ(converted.shape(), core::Shape({8, 288}));
    std::vector<float> back(288);
    backends::cpu::quant::dequantize_row(ND_DTYPE_Q4_0,
                                         std::span(converted.data(), core::dtype_row_bytes(ND_DTYPE_Q4_0, 288)), back);
    double worst = 0;
    for (std::size_t i = 0; i < back.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(back[i]) - values[i]));
    }
    // Q4_0's step is d = absmax/8 and its levels run -8..7, so the far end of a block can be off by up to d:
    // 0.5/8, plus the F16 rounding of the source.
    EXPECT_LE(worst, 0.5 / 8 + 1e-3);
    EXPECT_GT(worst, 0.0);  // and not a copy
}

TEST(WeightConversion, F16_conversion_of_f32_keeps_the_shape_and_rounds_each_value) {
    const std::vector<float> values = ramp(4 * 2 * 3 * 3);
    const core::Tensor source = core::Tensor::from_f32({4, 2, 3, 3}, values);
    const core::Tensor converted = convert_weight(source, ND_DTYPE_F16);
    EXPECT_EQ(converted.shape(), source.shape());
    for (std::size_t i = 0; i < values.size(); ++i) {
        ASSERT_EQ(converted.data_as<std::uint16_t>()[i], core::f32_to_f16(values[i])) << i;
    }
}

TEST(WeightConversion, Non_float_source_is_refused) {
    const core::Tensor ids = core::Tensor::empty(ND_DTYPE_I64, {2, 32});
    EXPECT_THROW((void)convert_weight(ids, ND_DTYPE_Q8_0), core::Error);
}

TEST(WeightConversion, Weight_set_converts_only_what_the_rules_select) {
    WeightSet weights;
    weights.add("a.proj.weight", f16_tensor({128, 64}, ramp(128 * 64)));
    weights.add("a.proj.bias", f16_tensor({128}, ramp(128)));
    weights.add("a.norm.weight", f16_tensor({64}, ramp(64)));
    weights.add("e.token_embedding.weight", f16_tensor({128, 64}, ramp(128 * 64)));
    const ConversionSummary summary = convert_weights(weights, ND_DTYPE_Q8_0);
    EXPECT_EQ(summary.converted, 1u);
    EXPECT_EQ(summary.bytes_before, 128u * 64u * 2u);
    EXPECT_EQ(summary.bytes_after, 128u * 2u * 34u);
    EXPECT_EQ(weights.require("a.proj.weight").dtype(), ND_DTYPE_Q8_0);
    EXPECT_EQ(weights.require("a.proj.weight").storage()->kind(), core::Storage::Kind::Owned);
    EXPECT_EQ(weights.require("a.proj.bias").dtype(), ND_DTYPE_F16);
    EXPECT_EQ(weights.require("a.norm.weight").dtype(), ND_DTYPE_F16);
    EXPECT_EQ(weights.require("e.token_embedding.weight").dtype(), ND_DTYPE_F16);
}

TEST(WeightConversion, Request_that_is_not_a_weight_type_is_an_invalid_argument) {
    WeightSet weights;
    try {
        (void)convert_weights(weights, ND_DTYPE_I32);
        FAIL() << "accepted I32";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
    }
}

} // namespace
} // namespace nd::model_files
