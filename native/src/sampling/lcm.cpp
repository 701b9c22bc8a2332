// Latent Consistency Model sampling (Luo et al. 2023): diffusers' LCMScheduler.step. Each step predicts x0,
// applies the consistency boundary condition (c_skip, c_out with sigma_data 0.5 and timestep scaling 10)
// and re-noises to the next timestep with a fresh draw; the last step returns the denoised latents.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_lcm(const SamplerRun& run, std::span<float> x) {
    const std::span<const float> alphas_cumprod = run.training.alphas_cumprod();
    const std::vector<float>& timesteps = run.schedule.timesteps;
    const int steps = run.schedule.steps();
    std::vector<float> eps(x.size());
    std::vector<float> noise(x.size());
    for (int step = run.start_step; step < steps; ++step) {
        const float timestep = timesteps[static_cast<std::size_t>(step)];
        run.model(x, ModelCall{timestep, run.schedule.sigmas[static_cast<std::size_t>(step)], step}, eps);
        const bool last = step == steps - 1;
        const float previous = last ? timestep : timesteps[static_cast<std::size_t>(step) + 1];
        const float alpha = alphas_cumprod[static_cast<std::size_t>(timestep)];
        const float alpha_prev = previous >= 0.0F ? alphas_cumprod[static_cast<std::size_t>(previous)]
                                                  : run.schedule.final_alpha_cumprod;
        const float sqrt_beta = std::sqrt(1.0F - alpha);
        const float sqrt_alpha = std::sqrt(alpha);
        const float scaled = timestep * 10.0F;
        const float c_skip = 0.25F / (scaled * scaled + 0.25F);
        const float c_out = scaled / std::sqrt(scaled * scaled + 0.25F);
        if (!last) {
            run.noise.fill_randn(noise);
        }
        const float sqrt_alpha_prev = std::sqrt(alpha_prev);
        const float sqrt_beta_prev = std::sqrt(1.0F - alpha_prev);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float pred_original = (x[i] - sqrt_beta * eps[i]) / sqrt_alpha;
            const float denoised = c_out * pred_original + c_skip * x[i];
            x[i] = last ? denoised : sqrt_alpha_prev * denoised + sqrt_beta_prev * noise[i];
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
