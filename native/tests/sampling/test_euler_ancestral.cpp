#include <gtest/gtest.h>

#include <cmath>

#include "sampling/rng_cpu.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/toy_model.hpp"

namespace nd::sampling {
namespace {

TEST(EulerAncestral, Steps_to_sigma_down_then_adds_one_fresh_draw_of_sigma_up_per_step) {
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(find_sampler("euler_a"), training, {.steps = 3});
    testing::ToyModel toy;
    const EpsilonModel model = toy.model();
    TorchCpuGenerator generator(21);
    TorchCpuGenerator noise_copy(21);
    std::vector<float> latents{2.0F, -1.0F, 0.5F};
    std::vector<double> expected(latents.begin(), latents.end());
    run_sampler("euler_a", SamplerRun{training, schedule, model, generator}, latents);

    for (std::size_t i = 0; i < 3; ++i) {
        const double sigma = schedule.sigmas[i];
        const double next = schedule.sigmas[i + 1];
        const double up = std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
        const double down = std::sqrt(next * next - up * up);
        const std::vector<float> noise = noise_copy.randn(expected.size());
        for (std::size_t e = 0; e < expected.size(); ++e) {
            const double eps = toy.eps(expected[e] / std::sqrt(sigma * sigma + 1.0));
            expected[e] += eps * (down - sigma) + noise[e] * up;
        }
    }
    for (std::size_t e = 0; e < expected.size(); ++e) {
        EXPECT_NEAR(latents[e], expected[e], 1e-4 * std::fabs(expected[e]) + 1e-5);
    }
    EXPECT_EQ(generator.next_u32(), noise_copy.next_u32()); // the final step drew too
}

} // namespace
} // namespace nd::sampling
