// Cheap previews while sampling: a per-model linear map from the 4 latent channels to RGB (a 4x3 matrix and
// a bias), applied at latent resolution (width / 8 x height / 8; callers scale it up as they like).
//
// The map is fitted to the model's own VAE decoder instead of hard-coding SD 1.5's published factors, so a
// retrained or foreign VAE still previews in the right colours: a few smooth random latents are decoded
// once, each decoded image is averaged over the 8x8 pixel block of every latent pixel, and the map is the
// least-squares fit from latent to block colour. Done lazily at the first preview request (one small decode,
// 16x16 latents) and kept for the model's lifetime.
#pragma once

#include <array>
#include <functional>
#include <span>

#include "core/tensor.hpp"
#include "pipeline/generation.hpp"

namespace nd::pipeline {

struct LatentRgbMap {
    // rgb[c] = sum_k weight[k][c] * latent[k] + bias[c], in [-1, 1] image units; latents as the sampler
    // holds them (scaled by the VAE scaling factor).
    std::array<std::array<float, 3>, 4> weight{};
    std::array<float, 3> bias{};
};

// Fits the map: `decode` takes scaled latents [N, 4, h, w] and returns the image [N, 3, 8h, 8w] in about
// [-1, 1] (the pipeline's decode, scaling factor included).
LatentRgbMap fit_latent_rgb_map(const std::function<core::Tensor(const core::Tensor&)>& decode);

// The preview of latents [4, h, w] (planar, scaled): an RGB8 image of w x h.
Image preview_image(const LatentRgbMap& map, std::span<const float> latents, int width, int height);

} // namespace nd::pipeline
