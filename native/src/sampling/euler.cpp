// Euler (Karras et al. 2022, Algorithm 2 without churn): diffusers' EulerDiscreteScheduler.step.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_euler(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const float sigma = sigmas[static_cast<std::size_t>(step)];
        detail::predict_eps_sigma_view(run, x, sigma, run.schedule.timesteps[static_cast<std::size_t>(step)], step,
                                       input, eps);
        // pred_x0 = x - sigma * eps; derivative = (x - pred_x0) / sigma; x += derivative * dt: each op rounds.
        const float dt = sigmas[static_cast<std::size_t>(step) + 1] - sigma;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float pred_original = x[i] - sigma * eps[i];
            const float derivative = (x[i] - pred_original) / sigma;
            x[i] = x[i] + derivative * dt;
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
