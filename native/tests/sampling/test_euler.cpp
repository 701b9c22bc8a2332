#include <gtest/gtest.h>

#include <cmath>

#include "sampling/rng_cpu.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/toy_model.hpp"

namespace nd::sampling {
namespace {

TEST(Euler, Each_step_moves_along_eps_by_the_sigma_difference_from_the_scaled_input) {
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(find_sampler("euler"), training, {.steps = 3});
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents{3.0F, -7.5F};
    std::vector<double> expected(latents.begin(), latents.end());
    run_sampler("euler", SamplerRun{training, schedule, model, generator}, latents);

    ASSERT_EQ(toy.calls.size(), 3U);
    for (int step = 0; step < 3; ++step) {
        const auto i = static_cast<std::size_t>(step);
        const double sigma = schedule.sigmas[i];
        const double scale = std::sqrt(sigma * sigma + 1.0);
        const testing::ToyModel::Call& call = toy.calls[i];
        EXPECT_EQ(call.call.timestep, schedule.timesteps[i]);
        EXPECT_EQ(call.call.sigma, schedule.sigmas[i]);
        for (std::size_t e = 0; e < expected.size(); ++e) {
            EXPECT_NEAR(call.input[e], expected[e] / scale, 1e-5 * std::fabs(expected[e] / scale) + 1e-6);
            // x0 = x - sigma eps; d = (x - x0) / sigma = eps; x += d (sigma_next - sigma).
            expected[e] += toy.eps(expected[e] / scale) * (schedule.sigmas[i + 1] - sigma);
        }
    }
    for (std::size_t e = 0; e < expected.size(); ++e) {
        EXPECT_NEAR(latents[e], expected[e], 1e-4 * std::fabs(expected[e]) + 1e-5);
    }
    // Timesteps 999, 499.5, 0 and the final sigma 0.
    EXPECT_EQ(schedule.timesteps, (std::vector<float>{999.0F, 499.5F, 0.0F}));
    EXPECT_EQ(schedule.sigmas.back(), 0.0F);
}

TEST(Euler, Karras_schedule_calls_the_model_with_fractional_timesteps_of_its_sigmas) {
    const NoiseSchedule training;
    const Schedule schedule =
        sampler_schedule(find_sampler("euler"), training, {.steps = 6, .sigma_schedule = SigmaSchedule::Karras});
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents{1.0F};
    run_sampler("euler", SamplerRun{training, schedule, model, generator}, latents);
    ASSERT_EQ(toy.calls.size(), 6U);
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_NEAR(toy.calls[i].call.timestep, training.timestep_of(schedule.sigmas[i]), 1e-3);
    }
    EXPECT_NE(toy.calls[2].call.timestep, std::round(toy.calls[2].call.timestep));
}

} // namespace
} // namespace nd::sampling
