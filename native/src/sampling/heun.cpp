// Heun's method (Karras et al. 2022, Algorithm 1 without churn): an Euler step, then the average of the
// slopes at both ends; the final step to sigma 0 stays Euler. Two model evaluations per step but the last.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_heun(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps(x.size());
    std::vector<float> derivative(x.size());
    std::vector<float> x_next(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const float sigma = sigmas[static_cast<std::size_t>(step)];
        const float sigma_next = sigmas[static_cast<std::size_t>(step) + 1];
        detail::predict_eps_sigma_view(run, x, sigma, run.schedule.timesteps[static_cast<std::size_t>(step)], step,
                                       input, eps);
        const float dt = sigma_next - sigma;
        for (std::size_t i = 0; i < x.size(); ++i) {
            derivative[i] = eps[i]; // (x - (x - sigma * eps)) / sigma
            x_next[i] = x[i] + derivative[i] * dt;
        }
        if (sigma_next > 0.0F) {
            const float timestep_next = run.schedule.timesteps[static_cast<std::size_t>(step) + 1];
            detail::predict_eps_sigma_view(run, x_next, sigma_next, timestep_next, step, input, eps);
            for (std::size_t i = 0; i < x.size(); ++i) {
                x_next[i] = x[i] + (derivative[i] + eps[i]) / 2.0F * dt;
            }
        }
        std::copy(x_next.begin(), x_next.end(), x.begin());
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
