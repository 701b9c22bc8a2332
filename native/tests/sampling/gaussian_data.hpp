// An analytic diffusion problem for sampler tests: every latent element is data ~ N(mu, s^2), so the ideal
// denoiser is known in closed form, D(x, sigma) = (s^2 x + sigma^2 mu) / (s^2 + sigma^2), and so is the
// probability-flow ODE: x(sigma) - mu = (x(sigma_max) - mu) * sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_max^2).
#pragma once

#include <cmath>
#include <span>

#include "sampling/denoiser.hpp"

namespace nd::testing {

struct GaussianData {
    double mu = 0.5;
    double s = 0.8;

    [[nodiscard]] double denoise(double x, double sigma) const {
        return (s * s * x + sigma * sigma * mu) / (s * s + sigma * sigma);
    }

    // The epsilon model a sampler sees: the input is x / sqrt(sigma^2 + 1) in the sigma view.
    [[nodiscard]] sampling::EpsilonModel model() const {
        return [*this](std::span<const float> input, const sampling::ModelCall& call, std::span<float> eps) {
            const double sigma = call.sigma;
            const double scale = std::sqrt(sigma * sigma + 1.0);
            for (std::size_t i = 0; i < input.size(); ++i) {
                const double x = input[i] * scale;
                eps[i] = static_cast<float>((x - denoise(x, sigma)) / sigma);
            }
        };
    }

    // Where the ODE from x at sigma_start (sigma view) ends at sigma 0.
    [[nodiscard]] double ode_end(double x, double sigma_start) const {
        return mu + (x - mu) * s / std::sqrt(s * s + sigma_start * sigma_start);
    }
};

} // namespace nd::testing
