#include "sampling/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace nd::sampling {

namespace {

// numpy.linspace in double: start + i * step, the last value exactly `stop`.
std::vector<double> numpy_linspace(double start, double stop, int count) {
    std::vector<double> values(static_cast<std::size_t>(count));
    if (count == 1) {
        values[0] = start;
        return values;
    }
    const double step = (stop - start) / static_cast<double>(count - 1);
    for (int i = 0; i < count; ++i) {
        values[static_cast<std::size_t>(i)] = static_cast<double>(i) * step + start;
    }
    values.back() = stop;
    return values;
}

// numpy.round: halves to even.
double round_half_even(double value) { return std::nearbyint(value); }

// The spaced training timesteps of EulerDiscreteScheduler, descending.
std::vector<double> euler_timesteps(int steps, int train, TimestepSpacing spacing, int offset) {
    std::vector<double> timesteps;
    switch (spacing) {
    case TimestepSpacing::Linspace:
        for (const double t : numpy_linspace(0.0, train - 1.0, steps)) {
            timesteps.push_back(static_cast<float>(t)); // numpy computes them as float32
        }
        std::reverse(timesteps.begin(), timesteps.end());
        break;
    case TimestepSpacing::Leading: {
        const int ratio = train / steps;
        for (int i = steps - 1; i >= 0; --i) {
            timesteps.push_back(static_cast<double>(i * ratio + offset));
        }
        break;
    }
    case TimestepSpacing::Trailing: {
        const double ratio = static_cast<double>(train) / steps;
        for (int i = 0; i < steps; ++i) {
            timesteps.push_back(round_half_even(train + i * -ratio) - 1.0);
        }
        break;
    }
    }
    return timesteps;
}

// The integer timesteps of DPMSolverMultistepScheduler, descending.
std::vector<double> dpm_solver_timesteps(int steps, int train, TimestepSpacing spacing, int offset) {
    std::vector<double> timesteps;
    switch (spacing) {
    case TimestepSpacing::Linspace: {
        const std::vector<double> points = numpy_linspace(0.0, train - 1.0, steps + 1);
        for (int i = steps; i >= 1; --i) {
            timesteps.push_back(round_half_even(points[static_cast<std::size_t>(i)]));
        }
        break;
    }
    case TimestepSpacing::Leading: {
        const int ratio = train / (steps + 1);
        for (int i = steps; i >= 1; --i) {
            timesteps.push_back(static_cast<double>(i * ratio + offset));
        }
        break;
    }
    case TimestepSpacing::Trailing: {
        const double ratio = static_cast<double>(train) / steps;
        for (int i = 0; i < steps; ++i) {
            timesteps.push_back(round_half_even(train + i * -ratio) - 1.0);
        }
        break;
    }
    }
    return timesteps;
}

// The integer timesteps of DDIMScheduler, descending.
std::vector<double> ddim_timesteps(int steps, int train, TimestepSpacing spacing, int offset) {
    std::vector<double> timesteps;
    switch (spacing) {
    case TimestepSpacing::Linspace:
        for (const double t : numpy_linspace(0.0, train - 1.0, steps)) {
            timesteps.push_back(round_half_even(t));
        }
        std::reverse(timesteps.begin(), timesteps.end());
        break;
    case TimestepSpacing::Leading:
    case TimestepSpacing::Trailing:
        return euler_timesteps(steps, train, spacing, offset);
    }
    return timesteps;
}

std::vector<double> reshape_sigmas(const NoiseSchedule& training, SigmaSchedule kind, double sigma_min,
                                   double sigma_max, int steps) {
    switch (kind) {
    case SigmaSchedule::Karras:
        return karras_sigmas(sigma_min, sigma_max, steps);
    case SigmaSchedule::Exponential:
        return exponential_sigmas(sigma_min, sigma_max, steps);
    case SigmaSchedule::SgmUniform:
        return sgm_uniform_sigmas(training, sigma_min, sigma_max, steps);
    case SigmaSchedule::Default:
        break;
    }
    return {};
}

float max_sigma(const std::vector<float>& sigmas) { return *std::max_element(sigmas.begin(), sigmas.end()); }

Schedule euler_family(const NoiseSchedule& training, const ScheduleOptions& options) {
    Schedule schedule;
    std::vector<double> timesteps =
        euler_timesteps(options.steps, training.train_timesteps(), options.spacing, options.steps_offset);
    std::vector<double> sigmas;
    for (const double t : timesteps) {
        sigmas.push_back(training.sigma_at(t));
    }
    if (options.sigma_schedule != SigmaSchedule::Default) {
        sigmas = reshape_sigmas(training, options.sigma_schedule, sigmas.back(), sigmas.front(), options.steps);
        timesteps.clear();
        for (const double sigma : sigmas) {
            timesteps.push_back(training.timestep_of(sigma));
        }
    }
    for (std::size_t i = 0; i < timesteps.size(); ++i) {
        schedule.timesteps.push_back(static_cast<float>(timesteps[i]));
        schedule.sigmas.push_back(static_cast<float>(sigmas[i]));
    }
    schedule.sigmas.push_back(0.0F);
    const float largest = max_sigma(schedule.sigmas);
    schedule.init_noise_sigma =
        options.spacing == TimestepSpacing::Leading ? std::sqrt(largest * largest + 1.0F) : largest;
    return schedule;
}

Schedule dpm_solver_family(const NoiseSchedule& training, const ScheduleOptions& options) {
    Schedule schedule;
    std::vector<double> timesteps =
        dpm_solver_timesteps(options.steps, training.train_timesteps(), options.spacing, options.steps_offset);
    std::vector<double> sigmas;
    if (options.sigma_schedule == SigmaSchedule::Default) {
        for (const double t : timesteps) {
            sigmas.push_back(training.sigma_at(t));
        }
    } else {
        // DPM-Solver reshapes over the whole training range and rounds the timesteps back to integers.
        sigmas = reshape_sigmas(training, options.sigma_schedule, training.sigma_min(), training.sigma_max(),
                                options.steps);
        timesteps.clear();
        for (const double sigma : sigmas) {
            timesteps.push_back(round_half_even(training.timestep_of(sigma)));
        }
    }
    for (std::size_t i = 0; i < timesteps.size(); ++i) {
        schedule.timesteps.push_back(static_cast<float>(timesteps[i]));
        schedule.sigmas.push_back(static_cast<float>(sigmas[i]));
    }
    schedule.sigmas.push_back(0.0F);
    return schedule;
}

// DDIM and LCM step between integer timesteps of the training table; sigmas are for information.
void add_table_sigmas(const NoiseSchedule& training, Schedule& schedule) {
    for (const float t : schedule.timesteps) {
        schedule.sigmas.push_back(training.sigmas()[static_cast<std::size_t>(t)]);
    }
    schedule.sigmas.push_back(0.0F);
}

Schedule ddim_family(const NoiseSchedule& training, const ScheduleOptions& options) {
    Schedule schedule;
    for (const double t : ddim_timesteps(options.steps, training.train_timesteps(), options.spacing, options.steps_offset)) {
        schedule.timesteps.push_back(static_cast<float>(t));
    }
    add_table_sigmas(training, schedule);
    return schedule;
}

Schedule lcm_family(const NoiseSchedule& training, const ScheduleOptions& options) {
    const int original = options.original_inference_steps;
    if (original < 1 || original > training.train_timesteps()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "LCM original_inference_steps must be in [1, {}], got {}",
                          training.train_timesteps(), original);
    }
    if (options.steps > original) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "LCM takes at most original_inference_steps ({}) steps, got {}", original, options.steps);
    }
    // The distillation's timesteps k - 1, 2k - 1, ..., descending; the steps pick evenly among them.
    const int k = training.train_timesteps() / original;
    std::vector<int> origin;
    for (int i = original; i >= 1; --i) {
        origin.push_back(i * k - 1);
    }
    Schedule schedule;
    for (int i = 0; i < options.steps; ++i) {
        const double index = static_cast<double>(i) * static_cast<double>(origin.size()) / options.steps;
        schedule.timesteps.push_back(static_cast<float>(origin[static_cast<std::size_t>(std::floor(index))]));
    }
    add_table_sigmas(training, schedule);
    return schedule;
}

} // namespace

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int steps, double rho) {
    const double min_inv_rho = std::pow(sigma_min, 1.0 / rho);
    const double max_inv_rho = std::pow(sigma_max, 1.0 / rho);
    std::vector<double> sigmas;
    for (const double ramp : numpy_linspace(0.0, 1.0, steps)) {
        sigmas.push_back(std::pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), rho));
    }
    return sigmas;
}

std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int steps) {
    std::vector<double> sigmas;
    for (const double log_sigma : numpy_linspace(std::log(sigma_max), std::log(sigma_min), steps)) {
        sigmas.push_back(std::exp(log_sigma));
    }
    return sigmas;
}

std::vector<double> sgm_uniform_sigmas(const NoiseSchedule& training, double sigma_min, double sigma_max, int steps) {
    // steps + 1 evenly spaced timesteps from sigma_max's to sigma_min's; the last is dropped (the final sigma
    // is the appended 0).
    const std::vector<double> timesteps =
        numpy_linspace(training.timestep_of(sigma_max), training.timestep_of(sigma_min), steps + 1);
    std::vector<double> sigmas;
    for (int i = 0; i < steps; ++i) {
        sigmas.push_back(training.sigma_at_log_linear(timesteps[static_cast<std::size_t>(i)]));
    }
    return sigmas;
}

Schedule make_schedule(const NoiseSchedule& training, const ScheduleOptions& options) {
    if (options.steps < 1 || options.steps > training.train_timesteps()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "steps must be in [1, {}], got {}", training.train_timesteps(),
                          options.steps);
    }
    const bool table_family = options.family == ScheduleFamily::Ddim || options.family == ScheduleFamily::Lcm;
    if (table_family && options.sigma_schedule != SigmaSchedule::Default) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "DDIM and LCM step between training timesteps: only the default sigma schedule applies");
    }
    Schedule schedule;
    switch (options.family) {
    case ScheduleFamily::Euler:
        schedule = euler_family(training, options);
        break;
    case ScheduleFamily::DpmSolver:
        schedule = dpm_solver_family(training, options);
        break;
    case ScheduleFamily::Ddim:
        schedule = ddim_family(training, options);
        break;
    case ScheduleFamily::Lcm:
        schedule = lcm_family(training, options);
        break;
    }
    schedule.family = options.family;
    schedule.train_timesteps = training.train_timesteps();
    schedule.final_alpha_cumprod = options.set_alpha_to_one ? 1.0F : training.alphas_cumprod().front();
    return schedule;
}

TimestepSpacing parse_timestep_spacing(std::string_view name) {
    if (name == "linspace") {
        return TimestepSpacing::Linspace;
    }
    if (name == "leading") {
        return TimestepSpacing::Leading;
    }
    if (name == "trailing") {
        return TimestepSpacing::Trailing;
    }
    core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                      "unknown timestep spacing '{}': valid spacings are linspace, leading, trailing", name);
}

SigmaSchedule parse_sigma_schedule(std::string_view name) {
    if (name == "default" || name == "normal") {
        return SigmaSchedule::Default;
    }
    if (name == "karras") {
        return SigmaSchedule::Karras;
    }
    if (name == "exponential") {
        return SigmaSchedule::Exponential;
    }
    if (name == "sgm_uniform") {
        return SigmaSchedule::SgmUniform;
    }
    core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                      "unknown sigma schedule '{}': valid schedules are default, karras, exponential, sgm_uniform",
                      name);
}

int img2img_start_step(int steps, double strength) {
    if (!(strength >= 0.0 && strength <= 1.0)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "img2img strength must be in [0, 1], got {}", strength);
    }
    const int init_steps = std::min(static_cast<int>(static_cast<double>(steps) * strength), steps);
    return std::max(steps - init_steps, 0);
}

} // namespace nd::sampling
