// Euler ancestral: diffusers' EulerAncestralDiscreteScheduler.step, one noise draw per step (the last one
// included, where sigma_up is 0, because diffusers draws it too and the stream position matters).
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_euler_ancestral(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps(x.size());
    std::vector<float> noise(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const float sigma_from = sigmas[static_cast<std::size_t>(step)];
        const float sigma_to = sigmas[static_cast<std::size_t>(step) + 1];
        detail::predict_eps_sigma_view(run, x, sigma_from, run.schedule.timesteps[static_cast<std::size_t>(step)],
                                       step, input, eps);
        const float from_sq = sigma_from * sigma_from;
        const float to_sq = sigma_to * sigma_to;
        const float sigma_up = std::sqrt(to_sq * (from_sq - to_sq) / from_sq);
        const float sigma_down = std::sqrt(to_sq - sigma_up * sigma_up);
        const float dt = sigma_down - sigma_from;
        run.noise.fill_randn(noise);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float pred_original = x[i] - sigma_from * eps[i];
            const float derivative = (x[i] - pred_original) / sigma_from;
            const float prev = x[i] + derivative * dt;
            x[i] = prev + noise[i] * sigma_up;
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
