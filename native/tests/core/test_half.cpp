#include "core/half.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace nd::core {
namespace {

TEST(Half, Every_f16_value_round_trips_through_f32) {
    for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
        const float f = f16_to_f32(static_cast<std::uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
            continue;
        }
        ASSERT_EQ(f32_to_f16(f), h) << "half bits " << h;
    }
}

TEST(Half, Known_values_and_rounding_to_nearest_even) {
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
    EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
    EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // halfway past the largest half: to infinity
    EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
    EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00); // a tie rounds to even (down)
    EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02); // a tie rounds to even (up)
    EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // exactly half the smallest subnormal: to even
    EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
    EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Half, Bf16_truncates_with_round_to_nearest_even) {
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80); // tie, even stays
    EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82); // tie, odd rounds up
    EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    for (std::uint32_t b = 0; b <= 0xffffu; ++b) {
        const float f = bf16_to_f32(static_cast<std::uint16_t>(b));
        if (!std::isnan(f)) {
            ASSERT_EQ(f32_to_bf16(f), b);
        }
    }
}

} // namespace
} // namespace nd::core
