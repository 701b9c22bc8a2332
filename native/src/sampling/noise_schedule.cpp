#include "sampling/noise_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/error.hpp"

namespace nd::sampling {

std::vector<float> torch_linspace_f32(double start_value, double end_value, int steps) {
    std::vector<float> values(static_cast<std::size_t>(std::max(steps, 0)));
    if (steps == 1) {
        values[0] = static_cast<float>(start_value);
    }
    if (steps <= 1) {
        return values;
    }
    // torch fills the first half forward from start and the second half backward from end, so both ends
    // are exact; its CPU kernel is built with FMA, hence the fused multiply-adds.
    const float start = static_cast<float>(start_value);
    const float end = static_cast<float>(end_value);
    const float step = (end - start) / static_cast<float>(steps - 1);
    const int halfway = steps / 2;
    for (int i = 0; i < steps; ++i) {
        values[static_cast<std::size_t>(i)] = i < halfway ? std::fma(step, static_cast<float>(i), start)
                                                          : std::fma(-step, static_cast<float>(steps - i - 1), end);
    }
    return values;
}

NoiseSchedule::NoiseSchedule(const NoiseScheduleConfig& config) : config_(config) {
    const int count = config.num_train_timesteps;
    if (count < 2 || count > 100000) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "num_train_timesteps must be in [2, 100000], got {}", count);
    }
    if (!(config.beta_start > 0.0 && config.beta_end > 0.0 && config.beta_start < 1.0 && config.beta_end < 1.0)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "beta_start ({}) and beta_end ({}) must lie in (0, 1)",
                          config.beta_start, config.beta_end);
    }
    std::vector<float> betas;
    if (config.beta_schedule == BetaSchedule::ScaledLinear) {
        betas = torch_linspace_f32(std::sqrt(config.beta_start), std::sqrt(config.beta_end), count);
        for (float& beta : betas) {
            beta = beta * beta;
        }
    } else {
        betas = torch_linspace_f32(config.beta_start, config.beta_end, count);
    }
    // torch.cumprod on the CPU accumulates float32 in double and rounds each partial product.
    alphas_cumprod_.resize(betas.size());
    sigmas_.resize(betas.size());
    log_sigmas_.resize(betas.size());
    double product = 1.0;
    for (std::size_t t = 0; t < betas.size(); ++t) {
        product *= static_cast<double>(1.0F - betas[t]);
        const float alpha_cumprod = static_cast<float>(product);
        alphas_cumprod_[t] = alpha_cumprod;
        sigmas_[t] = std::sqrt((1.0F - alpha_cumprod) / alpha_cumprod);
        log_sigmas_[t] = std::log(sigmas_[t]);
    }
}

double NoiseSchedule::sigma_at(double t) const noexcept {
    const double last = static_cast<double>(sigmas_.size() - 1);
    if (!(t > 0.0)) {
        return sigmas_.front();
    }
    if (t >= last) {
        return sigmas_.back();
    }
    const auto low = static_cast<std::size_t>(std::floor(t));
    const double low_value = sigmas_[low];
    const double high_value = sigmas_[low + 1];
    // numpy.interp: slope * (x - x_low) + y_low, in double.
    return (high_value - low_value) * (t - static_cast<double>(low)) + low_value;
}

double NoiseSchedule::sigma_at_log_linear(double t) const noexcept {
    const double last = static_cast<double>(sigmas_.size() - 1);
    t = std::clamp(t, 0.0, last);
    const auto low = static_cast<std::size_t>(std::floor(t));
    const auto high = std::min(low + 1, sigmas_.size() - 1);
    const double weight = t - static_cast<double>(low);
    return std::exp((1.0 - weight) * log_sigmas_[low] + weight * log_sigmas_[high]);
}

double NoiseSchedule::timestep_of(double sigma) const noexcept {
    const double log_sigma = std::log(std::max(sigma, 1e-10));
    // The last table entry not above log_sigma (0 when all are above), kept one short of the end.
    std::size_t low = 0;
    for (std::size_t i = 0; i < log_sigmas_.size(); ++i) {
        if (log_sigma - static_cast<double>(log_sigmas_[i]) >= 0.0) {
            low = i;
        }
    }
    low = std::min(low, log_sigmas_.size() - 2);
    const double low_log = log_sigmas_[low];
    const double high_log = log_sigmas_[low + 1];
    const double weight = std::clamp((low_log - log_sigma) / (low_log - high_log), 0.0, 1.0);
    return (1.0 - weight) * static_cast<double>(low) + weight * static_cast<double>(low + 1);
}

} // namespace nd::sampling
