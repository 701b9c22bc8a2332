// What the UNet predicts, turned into what the samplers take (eps), and the clean-image estimate previews
// show. Samplers hand the model the variance-preserving latent z = sqrt(a) x0 + sqrt(1 - a) eps whatever
// view they keep (sampling/denoiser.hpp), with sqrt(a) = 1 / sqrt(sigma^2 + 1) and sqrt(1 - a) =
// sigma / sqrt(sigma^2 + 1), so one formula in sigma serves every sampler.
#pragma once

#include <span>

namespace nd::pipeline {

// v-prediction (SD 2.x 768-v): v = sqrt(a) eps - sqrt(1 - a) x0, hence eps = sqrt(a) v + sqrt(1 - a) z
// = (v + sigma z) / sqrt(sigma^2 + 1). Rewrites `prediction` (v in, eps out) in place. Guidance may be
// applied before or after: the map is affine and guidance weights sum to 1.
void eps_from_v(std::span<float> prediction, std::span<const float> model_input, float sigma);

// x0 = (z - sqrt(1 - a) eps) / sqrt(a) = z sqrt(sigma^2 + 1) - sigma eps, in the samplers' latent scale.
void denoised_from_eps(std::span<const float> eps, std::span<const float> model_input, float sigma,
                       std::span<float> denoised);

} // namespace nd::pipeline
