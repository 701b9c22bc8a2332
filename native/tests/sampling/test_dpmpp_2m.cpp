#include <gtest/gtest.h>

#include <cmath>

#include "sampling/rng_cpu.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/toy_model.hpp"

namespace nd::sampling {
namespace {

TEST(DpmSolverPlusPlus2M, First_step_is_first_order_then_midpoint_second_order_and_the_last_returns_x0) {
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(find_sampler("dpmpp_2m"), training, {.steps = 3});
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents{1.2F, -0.4F};
    std::vector<double> expected(latents.begin(), latents.end());
    run_sampler("dpmpp_2m", SamplerRun{training, schedule, model, generator}, latents);
    ASSERT_EQ(toy.calls.size(), 3U);

    // In the alpha view: alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda = -log(sigma).
    auto alpha_of = [](double sigma) { return 1.0 / std::sqrt(sigma * sigma + 1.0); };
    std::vector<double> previous_x0(expected.size());
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(toy.calls[i].call.timestep, schedule.timesteps[i]);
        const double sigma = schedule.sigmas[i];
        const double next = schedule.sigmas[i + 1];
        for (std::size_t e = 0; e < expected.size(); ++e) {
            EXPECT_NEAR(toy.calls[i].input[e], expected[e], 1e-5 * std::fabs(expected[e]) + 1e-6);
            const double eps = toy.eps(expected[e]);
            const double x0 = (expected[e] - sigma * alpha_of(sigma) * eps) / alpha_of(sigma);
            if (i == 2) {
                expected[e] = x0; // sigma 0: exp(-h) = 0 and the first-order step returns x0
            } else {
                const double h = -std::log(next) + std::log(sigma);
                double d = x0;
                if (i == 1) {
                    const double h_previous = -std::log(sigma) + std::log(schedule.sigmas[0]);
                    d = x0 + 0.5 * (h / h_previous) * (x0 - previous_x0[e]);
                }
                expected[e] = (next * alpha_of(next)) / (sigma * alpha_of(sigma)) * expected[e] -
                              alpha_of(next) * std::expm1(-h) * d;
            }
            previous_x0[e] = x0;
        }
    }
    for (std::size_t e = 0; e < expected.size(); ++e) {
        EXPECT_NEAR(latents[e], expected[e], 1e-4 * std::fabs(expected[e]) + 1e-5);
    }
}

} // namespace
} // namespace nd::sampling
