// The timesteps and sigmas of one generation: which timesteps the model sees, at which noise levels, for a
// number of steps. Each family reproduces the set_timesteps of the diffusers scheduler named beside it,
// value for value (timestep spacing with steps_offset, interpolation of sigmas at fractional timesteps,
// the final sigma 0), so that a pipeline built on it reproduces diffusers' images.
#pragma once

#include <string_view>
#include <vector>

#include "sampling/noise_schedule.hpp"

namespace nd::sampling {

// How inference timesteps are spread over the training timesteps (diffusers' timestep_spacing).
enum class TimestepSpacing {
    Linspace, // evenly from T - 1 down to 0
    Leading,  // multiples of T / steps counted from 0, plus steps_offset
    Trailing, // multiples of T / steps counted down from T, minus 1
};

// Where the sigmas come from.
enum class SigmaSchedule {
    Default,     // the training sigmas at the spaced timesteps
    Karras,      // Karras et al. (2022), rho = 7, between the spaced range's extremes
    Exponential, // evenly spaced in log sigma over the same range
    SgmUniform,  // evenly spaced timesteps between those of sigma_max and sigma_min, sigma log-linear in t (ComfyUI)
};

enum class ScheduleFamily {
    Euler,     // EulerDiscreteScheduler: fractional timesteps, sigmas + final 0; the k-diffusion samplers
    DpmSolver, // DPMSolverMultistepScheduler: integer timesteps from steps + 1 points, sigmas + final 0
    Ddim,      // DDIMScheduler: integer timesteps, no sigma table (sigmas derived for information)
    Lcm,       // LCMScheduler: timesteps picked from the 50-step skipping schedule of LCM distillation
};

struct ScheduleOptions {
    int steps = 20;
    ScheduleFamily family = ScheduleFamily::Euler;
    TimestepSpacing spacing = TimestepSpacing::Linspace;
    SigmaSchedule sigma_schedule = SigmaSchedule::Default;
    int steps_offset = 1;
    bool set_alpha_to_one = false;    // DDIM / LCM: the alpha after the last step is 1 instead of alphas_cumprod[0]
    int original_inference_steps = 50; // LCM
};

struct Schedule {
    ScheduleFamily family = ScheduleFamily::Euler;
    std::vector<float> timesteps; // one per step: the value the model's timestep embedding gets
    // Euler and DpmSolver: steps + 1 noise levels ending in 0, step i goes from sigmas[i] to sigmas[i + 1].
    // Ddim and Lcm: sigma of each timestep (for information and for img2img strength), then 0.
    std::vector<float> sigmas;
    float init_noise_sigma = 1.0F; // initial latents are randn * init_noise_sigma
    float final_alpha_cumprod = 1.0F; // Ddim and Lcm: alpha_cumprod past the last step
    int train_timesteps = 1000;

    [[nodiscard]] int steps() const noexcept { return static_cast<int>(timesteps.size()); }
};

// Throws Error(ND_STATUS_INVALID_ARGUMENT) for steps outside [1, train timesteps] and for combinations the
// family does not define (a sigma schedule other than Default for Ddim or Lcm).
Schedule make_schedule(const NoiseSchedule& training, const ScheduleOptions& options);

// Sigma ramps between sigma_max and sigma_min (descending, `steps` values, no final 0), as k-diffusion and
// diffusers define them.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int steps, double rho = 7.0);
std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int steps);
std::vector<double> sgm_uniform_sigmas(const NoiseSchedule& training, double sigma_min, double sigma_max, int steps);

// Parsing of user-facing names ("linspace", "karras", ...); errors list the valid names.
TimestepSpacing parse_timestep_spacing(std::string_view name);
SigmaSchedule parse_sigma_schedule(std::string_view name);

// diffusers' img2img get_timesteps: the first step to run for a strength in [0, 1]
// (steps - min(int(steps * strength), steps)).
int img2img_start_step(int steps, double strength);

} // namespace nd::sampling
