#include "pipeline/latent_preview.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nd::pipeline {
namespace {

// A decoder that is exactly linear: every 8x8 block takes the colour `map` gives its latent pixel.
core::Tensor linear_decoder(const LatentRgbMap& map, const core::Tensor& latents) {
    const std::int64_t n = latents.dim(0);
    const std::int64_t h = latents.dim(2);
    const std::int64_t w = latents.dim(3);
    const std::vector<float> z = latents.to_f32();
    std::vector<float> out(static_cast<std::size_t>(n * 3 * h * 8 * w * 8));
    for (std::int64_t b = 0; b < n; ++b) {
        for (std::int64_t c = 0; c < 3; ++c) {
            for (std::int64_t y = 0; y < h * 8; ++y) {
                for (std::int64_t x = 0; x < w * 8; ++x) {
                    float v = map.bias[static_cast<std::size_t>(c)];
                    for (std::int64_t k = 0; k < 4; ++k) {
                        v += map.weight[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)] *
                             z[static_cast<std::size_t>(((b * 4 + k) * h + y / 8) * w + x / 8)];
                    }
                    out[static_cast<std::size_t>(((b * 3 + c) * h * 8 + y) * w * 8 + x)] = v;
                }
            }
        }
    }
    return core::Tensor::from_f32(core::Shape{n, 3, h * 8, w * 8}, out);
}

TEST(LatentPreview, Fit_recovers_the_map_of_a_linear_decoder) {
    LatentRgbMap truth;
    truth.weight = {
        {{0.30f, 0.19f, 0.21f}, {0.19f, 0.29f, 0.17f}, {-0.16f, 0.18f, 0.26f}, {-0.18f, -0.27f, -0.47f}}};
    truth.bias = {0.1f, -0.05f, 0.02f};
    const LatentRgbMap fitted =
        fit_latent_rgb_map([&](const core::Tensor& latents) { return linear_decoder(truth, latents); });
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t k = 0; k < 4; ++k) {
            EXPECT_NEAR(fitted.weight[k][c], truth.weight[k][c], 1e-4) << k << "," << c;
        }
        EXPECT_NEAR(fitted.bias[c], truth.bias[c], 1e-4) << c;
    }
}

TEST(LatentPreview, Preview_applies_the_map_per_latent_pixel) {
    LatentRgbMap map;
    map.weight[0] = {1.0f, 0.0f, 0.0f}; // channel 0 drives red
    map.weight[1] = {0.0f, -1.0f, 0.0f};
    map.bias = {0.0f, 0.0f, 1.0f};
    // 2x1 latents, planar: channel 0 = (1, -1), channel 1 = (1, 0), channels 2, 3 zero.
    const std::vector<float> latents = {1.0f, -1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const Image image = preview_image(map, latents, 2, 1);
    EXPECT_EQ(image.width, 2);
    EXPECT_EQ(image.height, 1);
    // pixel 0: r = 1 -> 255, g = -1 -> 0, b = 1 -> 255; pixel 1: r = -1 -> 0, g = 0 -> 128, b -> 255.
    EXPECT_EQ(image.rgb, (std::vector<std::uint8_t>{255, 0, 255, 0, 128, 255}));
}

} // namespace
} // namespace nd::pipeline
