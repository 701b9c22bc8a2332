#include "sampling/noise_schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "sampling/reference_tensors.hpp"

namespace nd::sampling {
namespace {

TEST(NoiseSchedule, Alphas_cumprod_are_bit_identical_to_diffusers) {
    ND_SKIP_IF_FIXTURE_MISSING(testing::reference_tensors_path());
    const std::optional<std::vector<float>> expected = testing::ReferenceTensors().find("sched.alphas_cumprod");
    ASSERT_TRUE(expected.has_value());
    const NoiseSchedule schedule;
    const std::span<const float> actual = schedule.alphas_cumprod();
    ASSERT_EQ(actual.size(), expected->size());
    EXPECT_EQ(std::memcmp(actual.data(), expected->data(), actual.size_bytes()), 0)
        << "max abs error " << testing::max_abs_difference(actual, *expected);
}

TEST(NoiseSchedule, Torch_linspace_is_exact_at_both_ends_and_fills_halves_from_them) {
    const std::vector<float> values = torch_linspace_f32(0.1, 0.7, 7);
    ASSERT_EQ(values.size(), 7U);
    EXPECT_EQ(values.front(), 0.1F);
    EXPECT_EQ(values.back(), 0.7F);
    const float step = (0.7F - 0.1F) / 6.0F;
    EXPECT_EQ(values[2], std::fma(step, 2.0F, 0.1F));
    EXPECT_EQ(values[4], std::fma(-step, 2.0F, 0.7F));
}

TEST(NoiseSchedule, Sigmas_grow_with_the_timestep_and_match_alphas) {
    const NoiseSchedule schedule;
    const std::span<const float> sigmas = schedule.sigmas();
    for (std::size_t t = 1; t < sigmas.size(); ++t) {
        ASSERT_GT(sigmas[t], sigmas[t - 1]) << t;
    }
    const double alpha = schedule.alphas_cumprod()[500];
    EXPECT_NEAR(sigmas[500], std::sqrt((1.0 - alpha) / alpha), 1e-6);
    EXPECT_NEAR(schedule.sigma_max(), 14.6146, 1e-4);
    EXPECT_NEAR(schedule.sigma_min(), 0.0291675, 1e-6);
}

TEST(NoiseSchedule, Timestep_of_inverts_the_log_sigma_interpolation) {
    const NoiseSchedule schedule;
    // The table holds float32 logs, so a table sigma maps back to its timestep within float precision.
    EXPECT_NEAR(schedule.timestep_of(schedule.sigmas()[321]), 321.0, 1e-5);
    for (const double t : {0.0, 0.25, 17.5, 500.0, 876.3137, 998.9, 999.0}) {
        EXPECT_NEAR(schedule.timestep_of(schedule.sigma_at_log_linear(t)), t, 1e-5) << t;
    }
    EXPECT_EQ(schedule.timestep_of(1e-6), 0.0);   // below the table: clamped to 0
    EXPECT_EQ(schedule.timestep_of(100.0), 999.0); // above: clamped to T - 1
}

TEST(NoiseSchedule, Sigma_at_interpolates_linearly_between_entries) {
    const NoiseSchedule schedule;
    const double low = schedule.sigmas()[799];
    const double high = schedule.sigmas()[800];
    EXPECT_DOUBLE_EQ(schedule.sigma_at(799.25), low + 0.25 * (high - low));
    EXPECT_EQ(schedule.sigma_at(-3.0), schedule.sigma_min());
    EXPECT_EQ(schedule.sigma_at(5000.0), schedule.sigma_max());
}

TEST(NoiseSchedule, Bad_configurations_are_rejected_with_the_field_named) {
    try {
        (void)NoiseSchedule(NoiseScheduleConfig{1, 0.00085, 0.012, BetaSchedule::ScaledLinear});
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(std::string(error.message()).find("num_train_timesteps"), std::string::npos);
    }
    EXPECT_THROW((void)NoiseSchedule(NoiseScheduleConfig{1000, 0.0, 0.012, BetaSchedule::Linear}), core::Error);
    EXPECT_THROW((void)NoiseSchedule(NoiseScheduleConfig{1000, 0.00085, 1.5, BetaSchedule::Linear}), core::Error);
}

} // namespace
} // namespace nd::sampling
