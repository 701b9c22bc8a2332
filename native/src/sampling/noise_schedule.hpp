// The training noise schedule of a diffusion model: betas, alphas_cumprod and the sigma of every training
// timestep, computed in float32 exactly as diffusers does (so schedules derived from it match bit for bit).
//
// sigma(t) = sqrt((1 - alphas_cumprod[t]) / alphas_cumprod[t]) is the noise level of timestep t in the
// "variance exploding" view x = x0 + sigma * eps, the one k-diffusion samplers work in.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace nd::sampling {

enum class BetaSchedule {
    ScaledLinear, // betas = linspace(sqrt(beta_start), sqrt(beta_end), T)^2: Stable Diffusion
    Linear,       // betas = linspace(beta_start, beta_end, T)
};

struct NoiseScheduleConfig {
    int num_train_timesteps = 1000;
    double beta_start = 0.00085;
    double beta_end = 0.012;
    BetaSchedule beta_schedule = BetaSchedule::ScaledLinear;
};

class NoiseSchedule {
public:
    // Throws Error(ND_STATUS_INVALID_ARGUMENT) for fewer than 2 timesteps or betas outside (0, 1).
    explicit NoiseSchedule(const NoiseScheduleConfig& config = {});

    [[nodiscard]] const NoiseScheduleConfig& config() const noexcept { return config_; }
    [[nodiscard]] int train_timesteps() const noexcept { return config_.num_train_timesteps; }
    [[nodiscard]] std::span<const float> alphas_cumprod() const noexcept { return alphas_cumprod_; }
    // Ascending with t; float32 as diffusers computes them.
    [[nodiscard]] std::span<const float> sigmas() const noexcept { return sigmas_; }
    [[nodiscard]] std::span<const float> log_sigmas() const noexcept { return log_sigmas_; }
    [[nodiscard]] float sigma_min() const noexcept { return sigmas_.front(); }
    [[nodiscard]] float sigma_max() const noexcept { return sigmas_.back(); }

    // sigma at a fractional timestep, linear in sigma between table entries (numpy.interp, as diffusers'
    // Euler schedulers do); t is clamped to [0, T - 1].
    [[nodiscard]] double sigma_at(double t) const noexcept;
    // sigma at a fractional timestep, linear in log sigma (k-diffusion's and ComfyUI's t_to_sigma).
    [[nodiscard]] double sigma_at_log_linear(double t) const noexcept;
    // The fractional timestep of a sigma, by linear interpolation in log sigma between the two table
    // entries around it, clamped to [0, T - 1] (diffusers' _sigma_to_t).
    [[nodiscard]] double timestep_of(double sigma) const noexcept;

private:
    NoiseScheduleConfig config_;
    std::vector<float> alphas_cumprod_;
    std::vector<float> sigmas_;
    std::vector<float> log_sigmas_;
};

// torch.linspace(start, end, steps, dtype=float32) on the CPU, value for value (exposed for tests).
std::vector<float> torch_linspace_f32(double start, double end, int steps);

} // namespace nd::sampling
