// DPM-Solver++(2S) ancestral (k-diffusion's sample_dpmpp_2s_ancestral, eta 1): a second-order single-step
// DPM-Solver++ step to sigma_down at the log-sigma midpoint, then fresh noise of sigma_up. One noise draw
// per step that does not end at sigma 0.
#include "sampling/samplers.hpp"

namespace nd::sampling {

void sample_dpmpp_2s_ancestral(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    std::vector<float> input;
    std::vector<float> eps;
    std::vector<float> denoised(x.size());
    std::vector<float> x_mid(x.size());
    std::vector<float> noise(x.size());
    for (int step = run.start_step; step < run.schedule.steps(); ++step) {
        const double sigma = sigmas[static_cast<std::size_t>(step)];
        const double sigma_next = sigmas[static_cast<std::size_t>(step) + 1];
        detail::denoise_sigma_view(run, x, sigma, step, input, eps, denoised);
        const detail::AncestralStep ancestral = detail::ancestral_step(sigma, sigma_next);
        if (ancestral.down <= 0.0) {
            const auto dt = static_cast<float>(ancestral.down - sigma);
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = x[i] + (x[i] - denoised[i]) / static_cast<float>(sigma) * dt;
            }
        } else {
            // In t = -log(sigma): x_s = (sigma_s / sigma) x - expm1(-h r) D, h = t_next - t, r = 1/2.
            const double t = -std::log(sigma);
            const double t_next = -std::log(ancestral.down);
            const double h = t_next - t;
            const double s = t + 0.5 * h;
            const auto keep_mid = static_cast<float>(std::exp(-s) / sigma);
            const auto take_mid = static_cast<float>(-std::expm1(-0.5 * h));
            for (std::size_t i = 0; i < x.size(); ++i) {
                x_mid[i] = keep_mid * x[i] + take_mid * denoised[i];
            }
            detail::denoise_sigma_view(run, x_mid, std::exp(-s), step, input, eps, denoised);
            const auto keep = static_cast<float>(ancestral.down / sigma);
            const auto take = static_cast<float>(-std::expm1(-h));
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = keep * x[i] + take * denoised[i];
            }
        }
        if (sigma_next > 0.0) {
            run.noise.fill_randn(noise);
            const auto up = static_cast<float>(ancestral.up);
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = x[i] + noise[i] * up;
            }
        }
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
