#include <gtest/gtest.h>

#include <cmath>

#include "sampling/rng_cpu.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/toy_model.hpp"

namespace nd::sampling {
namespace {

TEST(Lcm, Steps_apply_the_boundary_condition_and_renoise_to_the_next_timestep_except_the_last) {
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(find_sampler("lcm"), training, {.steps = 2});
    ASSERT_EQ(schedule.timesteps, (std::vector<float>{999.0F, 499.0F}));
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(4);
    TorchCpuGenerator noise_copy(4);
    std::vector<float> latents{0.3F, -0.9F};
    std::vector<double> expected(latents.begin(), latents.end());
    run_sampler("lcm", SamplerRun{training, schedule, model, generator}, latents);

    const std::span<const float> alphas = training.alphas_cumprod();
    for (std::size_t i = 0; i < 2; ++i) {
        const double t = schedule.timesteps[i];
        const double a = alphas[static_cast<std::size_t>(t)];
        const double scaled = 10.0 * t; // timestep_scaling 10, sigma_data 0.5
        const double c_skip = 0.25 / (scaled * scaled + 0.25);
        const double c_out = scaled / std::sqrt(scaled * scaled + 0.25);
        std::vector<float> noise;
        if (i == 0) {
            noise = noise_copy.randn(expected.size());
        }
        for (std::size_t e = 0; e < expected.size(); ++e) {
            const double eps = toy.eps(expected[e]);
            const double x0 = (expected[e] - std::sqrt(1.0 - a) * eps) / std::sqrt(a);
            const double denoised = c_out * x0 + c_skip * expected[e];
            if (i == 0) {
                const double a_next = alphas[499];
                expected[e] = std::sqrt(a_next) * denoised + std::sqrt(1.0 - a_next) * noise[e];
            } else {
                expected[e] = denoised;
            }
        }
    }
    for (std::size_t e = 0; e < expected.size(); ++e) {
        EXPECT_NEAR(latents[e], expected[e], 1e-4 * std::fabs(expected[e]) + 1e-5);
    }
    EXPECT_EQ(generator.next_u32(), noise_copy.next_u32()); // one draw: none after the last step
}

} // namespace
} // namespace nd::sampling
