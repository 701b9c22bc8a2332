// Pixels <-> the VAE's image tensors. The VAE works on planar float images in [-1, 1] ([C, H, W]); users
// hand in and get back 8-bit interleaved RGB. Both directions round exactly as diffusers does, so the 8-bit
// images match its PIL output:
//   in:  x = (byte / 255) * 2 - 1                       (VaeImageProcessor: numpy / 255, then normalize)
//   out: v = clamp(x / 2 + 0.5, 0, 1); byte = round(v * 255)   (postprocess, then numpy_to_pil)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nd::pipeline {

// A decoded image before 8-bit rounding: [H, W, 3] interleaved, in [0, 1] (diffusers' output_type="np").
struct FloatImage {
    int width = 0;
    int height = 0;
    std::vector<float> rgb;
    std::uint64_t seed = 0;
};

// RGB8 [H, W, 3] -> planar [3, H, W] in [-1, 1]. `rgb` must hold width * height * 3 bytes (the caller
// checks).
std::vector<float> planar_from_rgb8(std::span<const std::uint8_t> rgb, int width, int height);

// Planar [3, H, W] in [0, 1] (diffusers' tensor input) -> planar in [-1, 1].
std::vector<float> planar_from_unit(std::span<const float> planar);

// Planar [3, H, W] VAE output (about [-1, 1]) -> interleaved [H, W, 3] in [0, 1].
FloatImage float_image_from_planar(std::span<const float> planar, int width, int height);

// [0, 1] floats -> bytes: round(v * 255), v clamped to [0, 1] first (NaN becomes 0).
std::vector<std::uint8_t> rgb8_from_unit(std::span<const float> values);

} // namespace nd::pipeline
