#include <gtest/gtest.h>

#include <cmath>

#include "sampling/rng_cpu.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/toy_model.hpp"

namespace nd::sampling {
namespace {

TEST(Ddim, Eta_zero_steps_follow_the_ddim_update_down_to_the_final_alpha) {
    const NoiseSchedule training;
    const Schedule schedule =
        sampler_schedule(find_sampler("ddim"), training, {.steps = 4, .spacing = TimestepSpacing::Leading});
    ASSERT_EQ(schedule.timesteps, (std::vector<float>{751.0F, 501.0F, 251.0F, 1.0F}));
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents{0.7F, -1.3F};
    std::vector<double> expected(latents.begin(), latents.end());
    run_sampler("ddim", SamplerRun{training, schedule, model, generator}, latents);

    const std::span<const float> alphas = training.alphas_cumprod();
    ASSERT_EQ(toy.calls.size(), 4U);
    for (std::size_t i = 0; i < 4; ++i) {
        const int t = static_cast<int>(schedule.timesteps[i]);
        EXPECT_EQ(toy.calls[i].call.timestep, static_cast<float>(t));
        // The model sees the latents unscaled; previous timestep t - 1000 / 4, alphas_cumprod[0] past 0
        // (set_alpha_to_one false).
        const double a = alphas[static_cast<std::size_t>(t)];
        const double a_prev = t - 250 >= 0 ? alphas[static_cast<std::size_t>(t - 250)] : alphas[0];
        for (std::size_t e = 0; e < expected.size(); ++e) {
            EXPECT_NEAR(toy.calls[i].input[e], expected[e], 1e-5);
            const double eps = toy.eps(expected[e]);
            const double x0 = (expected[e] - std::sqrt(1.0 - a) * eps) / std::sqrt(a);
            expected[e] = std::sqrt(a_prev) * x0 + std::sqrt(1.0 - a_prev) * eps;
        }
    }
    for (std::size_t e = 0; e < expected.size(); ++e) {
        EXPECT_NEAR(latents[e], expected[e], 1e-4 * std::fabs(expected[e]) + 1e-5);
    }
}

TEST(Ddim, Set_alpha_to_one_makes_the_last_step_return_the_x0_prediction) {
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(
        find_sampler("ddim"), training, {.steps = 1, .spacing = TimestepSpacing::Leading, .set_alpha_to_one = true});
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents{0.7F};
    run_sampler("ddim", SamplerRun{training, schedule, model, generator}, latents);
    const double a = training.alphas_cumprod()[1];
    EXPECT_NEAR(latents[0], (0.7 - std::sqrt(1.0 - a) * toy.eps(0.7)) / std::sqrt(a), 1e-5);
}

} // namespace
} // namespace nd::sampling
