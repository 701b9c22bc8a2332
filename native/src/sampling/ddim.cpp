// DDIM (Song et al. 2020) with eta 0: diffusers' DDIMScheduler.step. The previous timestep is
// t - T / steps (integer division, as diffusers computes it whatever the spacing); past the first training
// timestep the schedule's final_alpha_cumprod applies (set_alpha_to_one).
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_ddim(const SamplerRun& run, std::span<float> x) {
    const std::span<const float> alphas_cumprod = run.training.alphas_cumprod();
    const int steps = run.schedule.steps();
    const int stride = run.schedule.train_timesteps / steps;
    std::vector<float> eps(x.size());
    for (int step = run.start_step; step < steps; ++step) {
        const float timestep_value = run.schedule.timesteps[static_cast<std::size_t>(step)];
        const auto timestep = static_cast<int>(timestep_value);
        run.model(x, ModelCall{timestep_value, run.schedule.sigmas[static_cast<std::size_t>(step)], step}, eps);
        const int previous = timestep - stride;
        const float alpha = alphas_cumprod[static_cast<std::size_t>(timestep)];
        const float alpha_prev =
            previous >= 0 ? alphas_cumprod[static_cast<std::size_t>(previous)] : run.schedule.final_alpha_cumprod;
        const float beta = 1.0F - alpha;
        const float sqrt_beta = std::sqrt(beta);
        const float sqrt_alpha = std::sqrt(alpha);
        const float direction = std::sqrt(1.0F - alpha_prev - 0.0F);
        const float sqrt_alpha_prev = std::sqrt(alpha_prev);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float pred_original = (x[i] - sqrt_beta * eps[i]) / sqrt_alpha;
            x[i] = sqrt_alpha_prev * pred_original + direction * eps[i];
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
