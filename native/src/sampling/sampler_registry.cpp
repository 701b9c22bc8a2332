#include "sampling/sampler_registry.hpp"

#include <array>
#include <cmath>

#include "core/error.hpp"
#include "sampling/samplers.hpp"

namespace nd::sampling {

namespace {

using enum ScheduleFamily;
using enum LatentView;

// The one table: a new sampler is a file with its loop and a line here.
constexpr std::array kSamplers{
    SamplerInfo{"euler", "Euler (diffusers EulerDiscreteScheduler)", Euler, Sigma, false, &sample_euler},
    SamplerInfo{"euler_a", "Euler ancestral (diffusers EulerAncestralDiscreteScheduler)", Euler, Sigma, true,
                &sample_euler_ancestral},
    SamplerInfo{"heun", "Heun's second-order method (k-diffusion sample_heun)", Euler, Sigma, false, &sample_heun},
    SamplerInfo{"dpm2", "DPM2 (k-diffusion sample_dpm_2)", Euler, Sigma, false, &sample_dpm2},
    SamplerInfo{"dpmpp_2m", "DPM-Solver++(2M) (diffusers DPMSolverMultistepScheduler)", DpmSolver, Alpha, false,
                &sample_dpmpp_2m},
    SamplerInfo{"dpmpp_2s_a", "DPM-Solver++(2S) ancestral (k-diffusion sample_dpmpp_2s_ancestral)", Euler, Sigma,
                true, &sample_dpmpp_2s_ancestral},
    SamplerInfo{"dpmpp_sde", "DPM-Solver++ SDE (k-diffusion sample_dpmpp_sde, Gaussian noise)", Euler, Sigma, true,
                &sample_dpmpp_sde},
    SamplerInfo{"ddim", "DDIM, eta 0 (diffusers DDIMScheduler)", Ddim, Alpha, false, &sample_ddim},
    SamplerInfo{"lcm", "Latent Consistency Model (diffusers LCMScheduler)", Lcm, Alpha, true, &sample_lcm},
};

} // namespace

std::span<const SamplerInfo> samplers() noexcept { return kSamplers; }

std::string sampler_names() {
    std::string names;
    for (const SamplerInfo& sampler : kSamplers) {
        if (!names.empty()) {
            names += ", ";
        }
        names += sampler.name;
    }
    return names;
}

const SamplerInfo& find_sampler(std::string_view name) {
    for (const SamplerInfo& sampler : kSamplers) {
        if (sampler.name == name) {
            return sampler;
        }
    }
    core::throw_error(ND_STATUS_NOT_FOUND, "unknown sampler '{}': valid samplers are {}", name, sampler_names());
}

Schedule sampler_schedule(const SamplerInfo& sampler, const NoiseSchedule& training, ScheduleOptions options) {
    options.family = sampler.family;
    return make_schedule(training, options);
}

std::vector<float> initial_latents(const Schedule& schedule, NoiseGenerator& noise, std::size_t count) {
    std::vector<float> latents = noise.randn(count);
    for (float& value : latents) {
        value = value * schedule.init_noise_sigma;
    }
    return latents;
}

void add_noise(const SamplerInfo& sampler, const NoiseSchedule& training, const Schedule& schedule, int start_step,
               std::span<float> x0, std::span<const float> noise) {
    if (noise.size() != x0.size()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "add_noise: {} noise values for {} latents", noise.size(),
                          x0.size());
    }
    if (start_step < 0 || start_step > schedule.steps()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "add_noise: start step {} outside [0, {}]", start_step,
                          schedule.steps());
    }
    if (start_step == schedule.steps()) {
        return; // strength 0: nothing is denoised, so nothing is noised
    }
    const auto index = static_cast<std::size_t>(start_step);
    float keep = 1.0F;
    float take = schedule.sigmas[index];
    if (sampler.view == LatentView::Alpha) {
        if (schedule.family == ScheduleFamily::DpmSolver) {
            const float sigma = schedule.sigmas[index];
            keep = 1.0F / std::sqrt(sigma * sigma + 1.0F);
            take = sigma * keep;
        } else {
            const float alpha = training.alphas_cumprod()[static_cast<std::size_t>(schedule.timesteps[index])];
            keep = std::sqrt(alpha);
            take = std::sqrt(1.0F - alpha);
        }
        for (std::size_t i = 0; i < x0.size(); ++i) {
            x0[i] = keep * x0[i] + take * noise[i];
        }
        return;
    }
    for (std::size_t i = 0; i < x0.size(); ++i) {
        x0[i] = x0[i] + noise[i] * take;
    }
}

void run_sampler(const SamplerInfo& sampler, const SamplerRun& run, std::span<float> latents) {
    if (run.schedule.family != sampler.family) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "sampler '{}' needs its own schedule family: make the schedule with sampler_schedule()",
                          sampler.name);
    }
    const int steps = run.schedule.steps();
    if (steps < 1 || run.schedule.sigmas.size() != static_cast<std::size_t>(steps) + 1) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "sampler '{}': a schedule of {} steps needs {} sigmas, has {}",
                          sampler.name, steps, steps + 1, run.schedule.sigmas.size());
    }
    if (run.start_step < 0 || run.start_step > steps) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "sampler '{}': start step {} outside [0, {}]", sampler.name,
                          run.start_step, steps);
    }
    if (!run.model) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "sampler '{}': no model function", sampler.name);
    }
    sampler.loop(run, latents);
}

void run_sampler(std::string_view name, const SamplerRun& run, std::span<float> latents) {
    run_sampler(find_sampler(name), run, latents);
}

} // namespace nd::sampling
