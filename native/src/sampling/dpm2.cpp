// DPM2 (k-diffusion's sample_dpm_2, after Karras et al. 2022): the slope at the geometric midpoint of
// sigma and sigma_next carries the whole step; the final step to sigma 0 is Euler.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_dpm2(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps(x.size());
    std::vector<float> x_mid(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const float sigma = sigmas[static_cast<std::size_t>(step)];
        const float sigma_next = sigmas[static_cast<std::size_t>(step) + 1];
        detail::predict_eps_sigma_view(run, x, sigma, run.schedule.timesteps[static_cast<std::size_t>(step)], step,
                                       input, eps);
        if (sigma_next <= 0.0F) {
            const float dt = sigma_next - sigma;
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = x[i] + eps[i] * dt;
            }
        } else {
            const double sigma_mid = std::exp(0.5 * (std::log(static_cast<double>(sigma)) + std::log(static_cast<double>(sigma_next))));
            const auto dt_mid = static_cast<float>(sigma_mid - sigma);
            const float dt = sigma_next - sigma;
            for (std::size_t i = 0; i < x.size(); ++i) {
                x_mid[i] = x[i] + eps[i] * dt_mid;
            }
            detail::predict_eps_sigma_view(run, x_mid, static_cast<float>(sigma_mid),
                                           static_cast<float>(run.training.timestep_of(sigma_mid)), step, input, eps);
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = x[i] + eps[i] * dt;
            }
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
