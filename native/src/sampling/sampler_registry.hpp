// The samplers by the names users know ("euler_a", "dpmpp_2m", ...), and the one function that runs them.
//
// run_sampler reproduces the denoising loop of the diffusers pipeline with the matching scheduler exactly,
// in float32 and in the same order of operations, so that an engine pipeline built on it gives the
// reference images:
//   latents (txt2img) = randn(generator) * schedule.init_noise_sigma            -> initial_latents()
//   latents (img2img) = add_noise(x0, randn(generator), schedule, start step)    -> add_noise()
//   for each step from `start_step`: eps = model(scaled latents, timestep); latents = step(...)
// The generator passed in is the one that drew the initial latents: ancestral and SDE samplers continue
// its stream, one draw of latents.size() values per step that needs noise, in diffusers' order. For img2img
// diffusers first samples the VAE posterior from the same generator (mean + std * randn, then times the
// scaling factor), then draws the noise for add_noise; the sampler then starts at
// img2img_start_step(steps, strength). The model receives timesteps as float (fractional for Euler-type
// samplers with Karras, exponential or SGM-uniform sigmas; integers otherwise).
//
// Adding a sampler: one file with its loop (see samplers.hpp) and one entry in the table in
// sampler_registry.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sampling/denoiser.hpp"
#include "sampling/noise_generator.hpp"
#include "sampling/noise_schedule.hpp"
#include "sampling/schedule.hpp"

namespace nd::sampling {

// Everything a sampler loop uses besides the latents.
struct SamplerRun {
    const NoiseSchedule& training;      // the model's training schedule (sigma <-> timestep, alphas_cumprod)
    const Schedule& schedule;           // made for the sampler's family (sampler_schedule())
    const EpsilonModel& model;
    NoiseGenerator& noise;              // continues the stream that drew the initial latents
    int start_step = 0;                 // img2img: img2img_start_step(steps, strength)
    const StepObserver* observer = nullptr;
};

// How a sampler holds its latents (see denoiser.hpp).
enum class LatentView {
    Sigma, // x = x0 + sigma * eps (Euler-type, k-diffusion)
    Alpha, // x = sqrt(alpha_cumprod) x0 + sqrt(1 - alpha_cumprod) eps (DDIM, DPM-Solver, LCM)
};

using SamplerLoop = void (*)(const SamplerRun& run, std::span<float> latents);

struct SamplerInfo {
    std::string_view name;         // as users know it: "euler_a"
    std::string_view description;  // what it is, in diffusers' / k-diffusion's terms
    ScheduleFamily family;         // the schedule it steps along
    LatentView view;
    bool draws_noise;              // ancestral / SDE: consumes the generator during sampling
    SamplerLoop loop;
};

// All samplers, in the order the table lists them.
std::span<const SamplerInfo> samplers() noexcept;
// Throws Error(ND_STATUS_NOT_FOUND) naming the unknown sampler and listing the valid names.
const SamplerInfo& find_sampler(std::string_view name);
// "euler, euler_a, ..."
std::string sampler_names();

// The schedule a sampler steps along, with its family filled in; DDIM defaults to leading spacing in
// diffusers' SD configs, pass that explicitly.
Schedule sampler_schedule(const SamplerInfo& sampler, const NoiseSchedule& training, ScheduleOptions options);

// randn(count) * init_noise_sigma from `noise` (the txt2img start: the first draw of the generator).
std::vector<float> initial_latents(const Schedule& schedule, NoiseGenerator& noise, std::size_t count);

// Noises clean latents x0 to the level of step `start_step`, as the scheduler's add_noise does for img2img:
// Sigma view x0 + noise * sigma; Alpha view sqrt(a) x0 + sqrt(1 - a) noise (DPM-Solver: 1/sqrt(sigma^2 + 1)
// and sigma/sqrt(sigma^2 + 1)). Writes into x0.
void add_noise(const SamplerInfo& sampler, const NoiseSchedule& training, const Schedule& schedule, int start_step,
               std::span<float> x0, std::span<const float> noise);

// Runs the sampler over `latents` in place. Throws Error(ND_STATUS_INVALID_ARGUMENT) when the schedule's
// family is not the sampler's or start_step is outside [0, steps]; whatever the model or observer throws
// passes through (the latents are then those of the last finished step).
void run_sampler(const SamplerInfo& sampler, const SamplerRun& run, std::span<float> latents);
void run_sampler(std::string_view name, const SamplerRun& run, std::span<float> latents);

} // namespace nd::sampling
