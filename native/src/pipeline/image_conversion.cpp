#include "pipeline/image_conversion.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace nd::pipeline {

std::vector<float> planar_from_rgb8(std::span<const std::uint8_t> rgb, int width, int height) {
    const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    std::vector<float> planar(pixels * 3);
    for (std::size_t p = 0; p < pixels; ++p) {
        for (std::size_t c = 0; c < 3; ++c) {
            // Two float32 roundings, as numpy's / 255 and then 2 * x - 1 make.
            const float unit = static_cast<float>(rgb[p * 3 + c]) / 255.0F;
            planar[c * pixels + p] = 2.0F * unit - 1.0F;
        }
    }
    return planar;
}

std::vector<float> planar_from_unit(std::span<const float> planar) {
    std::vector<float> out(planar.size());
    for (std::size_t i = 0; i < planar.size(); ++i) {
        out[i] = 2.0F * planar[i] - 1.0F;
    }
    return out;
}

FloatImage float_image_from_planar(std::span<const float> planar, int width, int height) {
    const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    FloatImage image;
    image.width = width;
    image.height = height;
    image.rgb.resize(pixels * 3);
    for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t p = 0; p < pixels; ++p) {
            const float v = planar[c * pixels + p] / 2.0F + 0.5F;
            image.rgb[p * 3 + c] = std::clamp(v, 0.0F, 1.0F);
        }
    }
    return image;
}

std::vector<std::uint8_t> rgb8_from_unit(std::span<const float> values) {
    std::vector<std::uint8_t> out(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        const float v = values[i] >= 0.0F ? std::min(values[i], 1.0F) : 0.0F; // NaN fails >= and becomes 0
        // numpy's round is half to even; nearbyint in the default rounding mode is the same.
        out[i] = static_cast<std::uint8_t>(std::nearbyint(v * 255.0F));
    }
    return out;
}

} // namespace nd::pipeline
