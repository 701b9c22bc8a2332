#include "pipeline/image_conversion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nd::pipeline {
namespace {

TEST(ImageConversion, Bytes_become_planar_values_in_minus_one_to_one) {
    // Two pixels: (0, 255, 51) and (255, 0, 102).
    const std::vector<std::uint8_t> rgb = {0, 255, 51, 255, 0, 102};
    const std::vector<float> planar = planar_from_rgb8(rgb, 2, 1);
    ASSERT_EQ(planar.size(), 6u);
    EXPECT_EQ(planar[0], -1.0f); // R of pixel 0
    EXPECT_EQ(planar[1], 1.0f);  // R of pixel 1
    EXPECT_EQ(planar[2], 1.0f);  // G of pixel 0
    EXPECT_EQ(planar[3], -1.0f);
    EXPECT_EQ(planar[4], 2.0f * (51.0f / 255.0f) - 1.0f);
    EXPECT_EQ(planar[5], 2.0f * (102.0f / 255.0f) - 1.0f);
}

TEST(ImageConversion, Decoder_output_is_interleaved_clamped_and_rounded_half_to_even) {
    // Planar R, G, B of one pixel at -2, 0, 2 -> clamped to 0, 0.5, 1.
    const std::vector<float> planar = {-2.0f, 0.0f, 2.0f};
    const FloatImage image = float_image_from_planar(planar, 1, 1);
    EXPECT_EQ(image.rgb, (std::vector<float>{0.0f, 0.5f, 1.0f}));
    // 0.5 * 255 = 127.5 rounds to the even 128, as numpy's round does; NaN and out-of-range values clamp.
    EXPECT_EQ(rgb8_from_unit(std::vector<float>{0.5f, 1.5f / 255.0f, -0.1f, 1.2f, NAN}),
              (std::vector<std::uint8_t>{128, 2, 0, 255, 0}));
}

TEST(ImageConversion, Unit_range_tensors_map_to_minus_one_to_one) {
    EXPECT_EQ(planar_from_unit(std::vector<float>{0.0f, 0.25f, 1.0f}),
              (std::vector<float>{-1.0f, -0.5f, 1.0f}));
}

} // namespace
} // namespace nd::pipeline
