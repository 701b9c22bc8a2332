// DPM-Solver++(2M) (Lu et al. 2022): diffusers' DPMSolverMultistepScheduler with algorithm_type
// "dpmsolver++", solver_order 2, solver_type "midpoint", lower_order_final and final_sigmas_type "zero":
// the first step and the last are first order, the others use the previous step's x0 prediction. Latents
// are in the alpha view; the model gets them unscaled and the integer timestep.
#include "sampling/samplers.hpp"

namespace nd::sampling {

namespace {

struct AlphaSigma {
    float alpha;
    float sigma;
    float lambda; // log(alpha) - log(sigma): +inf at sigma 0
};

// diffusers' _sigma_to_alpha_sigma_t, then lambda, in float32.
AlphaSigma alpha_sigma(float sigma) {
    const float alpha = 1.0F / std::sqrt(sigma * sigma + 1.0F);
    const float sigma_t = sigma * alpha;
    return {alpha, sigma_t, std::log(alpha) - std::log(sigma_t)};
}

} // namespace

void sample_dpmpp_2m(const SamplerRun& run, std::span<float> x) {
    const std::vector<float>& sigmas = run.schedule.sigmas;
    const int steps = run.schedule.steps();
    std::vector<float> eps(x.size());
    std::vector<float> x0(x.size());
    std::vector<float> previous_x0(x.size());
    int lower_order_count = 0;
    for (int step = run.start_step; step < steps; ++step) {
        const float sigma = sigmas[static_cast<std::size_t>(step)];
        run.model(x, ModelCall{run.schedule.timesteps[static_cast<std::size_t>(step)], sigma, step}, eps);

        // convert_model_output: x0 = (x - sigma_t * eps) / alpha_t.
        const AlphaSigma s0 = alpha_sigma(sigma);
        for (std::size_t i = 0; i < x.size(); ++i) {
            x0[i] = (x[i] - s0.sigma * eps[i]) / s0.alpha;
        }
        const AlphaSigma t = alpha_sigma(sigmas[static_cast<std::size_t>(step) + 1]);
        const float h = t.lambda - s0.lambda;
        const float keep = t.sigma / s0.sigma;
        const float take = t.alpha * (std::exp(-h) - 1.0F);
        const bool final_step = step == steps - 1; // final_sigmas_type "zero" forces first order there
        if (lower_order_count < 1 || final_step) {
            for (std::size_t i = 0; i < x.size(); ++i) {
                x[i] = keep * x[i] - take * x0[i];
            }
        } else {
            const AlphaSigma s1 = alpha_sigma(sigmas[static_cast<std::size_t>(step) - 1]);
            const float h_0 = s0.lambda - s1.lambda;
            const float r0 = h_0 / h;
            const float inverse_r0 = 1.0F / r0;
            const float half_take = 0.5F * take;
            for (std::size_t i = 0; i < x.size(); ++i) {
                const float d1 = inverse_r0 * (x0[i] - previous_x0[i]);
                x[i] = keep * x[i] - take * x0[i] - half_take * d1;
            }
        }
        if (lower_order_count < 2) {
            ++lower_order_count;
        }
        std::swap(previous_x0, x0);
        detail::observe(run, step, x);
    }
}

} // namespace nd::sampling
