// DPM-Solver++ SDE (k-diffusion's sample_dpmpp_sde, eta 1, r = 1/2): two stochastic half-steps in
// t = -log(sigma) per step. Its noise terms are normalised increments of one Brownian motion in sigma over
// [sigma_mid, sigma] and [sigma_next, sigma], so the second contains the first. k-diffusion samples that
// motion with a Brownian tree; here two independent draws from the generator per step (none for the final
// step to sigma 0) build the same joint distribution, so images are this engine's own for a given seed.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_dpmpp_sde(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps;
    std::vector<float> denoised(x.size());
    std::vector<float> denoised_mid(x.size());
    std::vector<float> x_mid(x.size());
    std::vector<float> noise(x.size());
    std::vector<float> noise_rest(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const double sigma = sigmas[static_cast<std::size_t>(step)];
        const double sigma_next = sigmas[static_cast<std::size_t>(step) + 1];
        detail::denoise_sigma_view(run, x, sigma, step, input, eps, denoised);
        if (sigma_next <= 0.0) {
            const auto dt = static_cast<float>(sigma_next - sigma);
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = x[i] + (x[i] - denoised[i]) / static_cast<float>(sigma) * dt;
            }
            detail::observe(run, step, x);
            continue;
        }
        const double t = -std::log(sigma);
        const double t_next = -std::log(sigma_next);
        const double h = t_next - t;
        const double s = t + 0.5 * h;
        const double sigma_s = std::exp(-s);

        // First half: ancestral DPM-Solver++(1) to the midpoint.
        const detail::AncestralStep first = detail::ancestral_step(sigma, sigma_s);
        const double s_down = -std::log(first.down);
        const auto keep_mid = static_cast<float>(first.down / sigma);
        const auto take_mid = static_cast<float>(-std::expm1(t - s_down));
        run.noise.fill_randn(noise);
        run.noise.fill_randn(noise_rest);
        for (std::size_t i = 0; i < x.size(); ++i) {
            x_mid[i] = keep_mid * x[i] + take_mid * denoised[i] + noise[i] * static_cast<float>(first.up);
        }
        detail::denoise_sigma_view(run, x_mid, sigma_s, step, input, eps, denoised_mid);

        // Second half: the full step with the denoised estimates mixed (fac = 1 / (2r) = 1).
        const detail::AncestralStep second = detail::ancestral_step(sigma, sigma_next);
        const double next_down = -std::log(second.down);
        const auto keep = static_cast<float>(second.down / sigma);
        const auto take = static_cast<float>(-std::expm1(t - next_down));
        // (W(sigma) - W(sigma_next)) / sqrt(sigma - sigma_next) from the first increment and an independent rest.
        const auto first_part = static_cast<float>(std::sqrt((sigma - sigma_s) / (sigma - sigma_next)));
        const auto rest_part = static_cast<float>(std::sqrt((sigma_s - sigma_next) / (sigma - sigma_next)));
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float increment = first_part * noise[i] + rest_part * noise_rest[i];
            x[i] = keep * x[i] + take * denoised_mid[i] + increment * static_cast<float>(second.up);
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
