// The sampler loops, one file each; sampler_registry.cpp names them. Internal to sampling/.
//
// Loops written after a diffusers scheduler (euler, euler_a, ddim, dpmpp_2m, lcm) repeat its float32
// arithmetic operation for operation (each torch op rounds to float32; nothing is fused). The k-diffusion
// loops (heun, dpm2, dpmpp_2s_a, dpmpp_sde) compute their scalar coefficients in double.
#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "sampling/sampler_registry.hpp"

namespace nd::sampling {

void sample_euler(const SamplerRun& run, std::span<float> x);
void sample_euler_ancestral(const SamplerRun& run, std::span<float> x);
void sample_heun(const SamplerRun& run, std::span<float> x);
void sample_dpm2(const SamplerRun& run, std::span<float> x);
void sample_dpmpp_2m(const SamplerRun& run, std::span<float> x);
void sample_dpmpp_2s_ancestral(const SamplerRun& run, std::span<float> x);
void sample_dpmpp_sde(const SamplerRun& run, std::span<float> x);
void sample_ddim(const SamplerRun& run, std::span<float> x);
void sample_lcm(const SamplerRun& run, std::span<float> x);

namespace detail {

// Evaluates the model on latents in the sigma view: input = x / sqrt(sigma^2 + 1) (diffusers'
// scale_model_input, in float32), eps written to `eps`.
inline void predict_eps_sigma_view(const SamplerRun& run, std::span<const float> x, float sigma, float timestep,
                                   int step, std::vector<float>& input, std::span<float> eps) {
    const float scale = std::sqrt(sigma * sigma + 1.0F);
    input.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        input[i] = x[i] / scale;
    }
    run.model(input, ModelCall{timestep, sigma, step}, eps);
}

// The same for a sigma between table entries: the timestep is interpolated in log sigma, and the result is
// the denoised x0 = x - sigma * eps (k-diffusion's view of the model).
inline void denoise_sigma_view(const SamplerRun& run, std::span<const float> x, double sigma, int step,
                               std::vector<float>& input, std::vector<float>& eps, std::span<float> denoised) {
    const auto sigma_f = static_cast<float>(sigma);
    eps.resize(x.size());
    predict_eps_sigma_view(run, x, sigma_f, static_cast<float>(run.training.timestep_of(sigma)), step, input, eps);
    for (std::size_t i = 0; i < x.size(); ++i) {
        denoised[i] = x[i] - sigma_f * eps[i];
    }
}

inline void observe(const SamplerRun& run, int step, std::span<const float> x) {
    if (run.observer != nullptr && *run.observer) {
        (*run.observer)(step, run.schedule.steps(), x);
    }
}

// k-diffusion's get_ancestral_step with eta: the deterministic target sigma_down and the noise sigma_up.
struct AncestralStep {
    double down;
    double up;
};
inline AncestralStep ancestral_step(double sigma_from, double sigma_to, double eta = 1.0) {
    if (sigma_to <= 0.0) {
        return {0.0, 0.0};
    }
    const double up = std::min(sigma_to, eta * std::sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) /
                                                         (sigma_from * sigma_from)));
    return {std::sqrt(sigma_to * sigma_to - up * up), up};
}

} // namespace detail

} // namespace nd::sampling
