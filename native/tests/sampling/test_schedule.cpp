#include "sampling/schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "core/error.hpp"
#include "sampling/reference_tensors.hpp"
#include "sampling/sampler_registry.hpp"

namespace nd::sampling {
namespace {

using testing::ReferenceTensors;

struct FixtureSchedule {
    const char* name;
    ScheduleOptions options;
};

const FixtureSchedule kFixtureSchedules[] = {
    {"euler_linspace", {.family = ScheduleFamily::Euler, .spacing = TimestepSpacing::Linspace}},
    {"euler_leading", {.family = ScheduleFamily::Euler, .spacing = TimestepSpacing::Leading}},
    {"euler_trailing", {.family = ScheduleFamily::Euler, .spacing = TimestepSpacing::Trailing}},
    {"euler_karras",
     {.family = ScheduleFamily::Euler, .spacing = TimestepSpacing::Linspace, .sigma_schedule = SigmaSchedule::Karras}},
    {"ddim_leading", {.family = ScheduleFamily::Ddim, .spacing = TimestepSpacing::Leading}},
    {"dpmpp_2m", {.family = ScheduleFamily::DpmSolver, .spacing = TimestepSpacing::Linspace}},
};

// The largest error in units of the float32 spacing (ulp) at each reference value (at `floor` for smaller
// values).
double max_ulps(std::span<const float> actual, std::span<const float> expected, double floor = 1e-30) {
    if (actual.size() != expected.size()) {
        return INFINITY;
    }
    double largest = 0.0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double scale = std::max(std::fabs(static_cast<double>(expected[i])), floor);
        const double ulp = std::ldexp(1.0, std::ilogb(scale) - 23);
        largest = std::max(largest, std::fabs(static_cast<double>(actual[i]) - expected[i]) / ulp);
    }
    return largest;
}

TEST(Schedule, Timesteps_and_sigmas_match_diffusers_for_every_fixture_table) {
    ND_SKIP_IF_FIXTURE_MISSING(testing::reference_tensors_path());
    const ReferenceTensors reference;
    const NoiseSchedule training;
    int compared = 0;
    for (const FixtureSchedule& fixture : kFixtureSchedules) {
        for (const int steps : {1, 4, 20, 50}) {
            ScheduleOptions options = fixture.options;
            options.steps = steps;
            const Schedule schedule = make_schedule(training, options);
            const std::string prefix = std::string("sched.") + fixture.name + "." + std::to_string(steps);
            const std::optional<std::vector<float>> timesteps = reference.find(prefix + ".timesteps");
            ASSERT_TRUE(timesteps.has_value()) << prefix;
            // Timesteps in ulps of the largest (999): fractional Karras timesteps interpolate the float32 log of
            // the sigma table, whose last bits differ (see below), so they get one such ulp; others none.
            const double timestep_ulps = max_ulps(schedule.timesteps, *timesteps, 999.0);
            std::cout << prefix << ": timesteps max abs error "
                      << testing::max_abs_difference(schedule.timesteps, *timesteps);
            EXPECT_LE(timestep_ulps, options.sigma_schedule == SigmaSchedule::Karras ? 1.0 : 0.0) << prefix;
            ++compared;
            if (const std::optional<std::vector<float>> sigmas = reference.find(prefix + ".sigmas")) {
                // torch evaluates sigma = ((1 - a) / a) ** 0.5 with SLEEF's pow (1-ulp accurate), not a correctly
                // rounded sqrt: 2 of the 1000 table entries (t = 21, 260) differ in the last bit.
                const double sigma_ulps = max_ulps(schedule.sigmas, *sigmas);
                std::cout << ", sigmas max error " << sigma_ulps << " ulp, max abs "
                          << testing::max_abs_difference(schedule.sigmas, *sigmas);
                EXPECT_LE(sigma_ulps, 1.0) << prefix;
                ++compared;
            }
            std::cout << "\n";
        }
    }
    EXPECT_EQ(compared, 6 * 4 + 5 * 4);
}

TEST(Schedule, Pipeline_fixture_tables_match_each_samplers_schedule) {
    ND_SKIP_IF_FIXTURE_MISSING(testing::reference_tensors_path());
    const ReferenceTensors reference;
    const NoiseSchedule training;
    const struct {
        const char* key;
        const char* sampler;
        ScheduleOptions options;
    } pipes[] = {
        {"euler", "euler", {.steps = 6}},
        {"euler_karras", "euler", {.steps = 6, .sigma_schedule = SigmaSchedule::Karras}},
        {"euler_a", "euler_a", {.steps = 6}},
        {"ddim", "ddim", {.steps = 6, .spacing = TimestepSpacing::Leading}},
        {"dpmpp_2m", "dpmpp_2m", {.steps = 6}},
    };
    for (const auto& pipe : pipes) {
        const Schedule schedule = sampler_schedule(find_sampler(pipe.sampler), training, pipe.options);
        for (const char* size : {"64x64", "96x64"}) {
            const std::string prefix = std::string("sd1.pipe.") + pipe.key + "." + size;
            const std::optional<std::vector<float>> timesteps = reference.find(prefix + ".timesteps");
            ASSERT_TRUE(timesteps.has_value()) << prefix;
            EXPECT_LE(max_ulps(schedule.timesteps, *timesteps, 999.0), 1.0) << prefix;
            if (const std::optional<std::vector<float>> sigmas = reference.find(prefix + ".sigmas")) {
                EXPECT_LE(max_ulps(schedule.sigmas, *sigmas), 1.0) << prefix;
            }
        }
    }
}

TEST(Schedule, Init_noise_sigma_is_the_largest_sigma_or_its_variance_preserving_norm_for_leading) {
    const NoiseSchedule training;
    const Schedule linspace = make_schedule(training, {.steps = 10});
    EXPECT_EQ(linspace.init_noise_sigma, linspace.sigmas.front());
    const Schedule leading = make_schedule(training, {.steps = 10, .spacing = TimestepSpacing::Leading});
    const float largest = leading.sigmas.front();
    EXPECT_EQ(leading.init_noise_sigma, std::sqrt(largest * largest + 1.0F));
    EXPECT_EQ(make_schedule(training, {.steps = 10, .family = ScheduleFamily::Ddim}).init_noise_sigma, 1.0F);
}

TEST(Schedule, Karras_sigmas_follow_the_rho_7_ramp) {
    const std::vector<double> sigmas = karras_sigmas(0.1, 10.0, 3);
    ASSERT_EQ(sigmas.size(), 3U);
    EXPECT_NEAR(sigmas[0], 10.0, 1e-12);
    EXPECT_NEAR(sigmas[2], 0.1, 1e-12);
    const double middle = std::pow(0.5 * (std::pow(10.0, 1.0 / 7) + std::pow(0.1, 1.0 / 7)), 7.0);
    EXPECT_NEAR(sigmas[1], middle, 1e-12);
}

TEST(Schedule, Exponential_sigmas_are_even_in_log_sigma) {
    const std::vector<double> sigmas = exponential_sigmas(0.1, 10.0, 5);
    ASSERT_EQ(sigmas.size(), 5U);
    for (std::size_t i = 0; i < sigmas.size(); ++i) {
        EXPECT_NEAR(std::log(sigmas[i]), std::log(10.0) - static_cast<double>(i) * std::log(100.0) / 4, 1e-12);
    }
}

TEST(Schedule, Sgm_uniform_sigmas_are_even_in_timestep_and_end_before_sigma_min) {
    const NoiseSchedule training;
    const std::vector<double> sigmas =
        sgm_uniform_sigmas(training, training.sigma_min(), training.sigma_max(), 4);
    ASSERT_EQ(sigmas.size(), 4U);
    // Timesteps 999, 749.25, 499.5, 249.75 (the fifth point, 0, is dropped).
    for (std::size_t i = 0; i < sigmas.size(); ++i) {
        EXPECT_NEAR(training.timestep_of(sigmas[i]), 999.0 - 249.75 * static_cast<double>(i), 1e-6) << i;
    }
    const Schedule schedule = make_schedule(training, {.steps = 4, .sigma_schedule = SigmaSchedule::SgmUniform});
    EXPECT_EQ(schedule.sigmas.back(), 0.0F);
    EXPECT_NEAR(schedule.timesteps[1], 749.25F, 1e-3);
}

TEST(Schedule, Lcm_picks_evenly_among_the_distilled_timesteps) {
    const NoiseSchedule training;
    const Schedule schedule = make_schedule(training, {.steps = 4, .family = ScheduleFamily::Lcm});
    EXPECT_EQ(schedule.timesteps, (std::vector<float>{999, 759, 499, 259}));
}

TEST(Schedule, Img2img_start_step_follows_diffusers_get_timesteps) {
    EXPECT_EQ(img2img_start_step(10, 0.6), 4);
    EXPECT_EQ(img2img_start_step(10, 1.0), 0);
    EXPECT_EQ(img2img_start_step(6, 0.5), 3);
    EXPECT_EQ(img2img_start_step(7, 0.3), 5); // int(2.1) = 2 steps run
    EXPECT_THROW((void)img2img_start_step(10, 1.5), core::Error);
}

TEST(Schedule, Invalid_requests_are_rejected_with_the_reason) {
    const NoiseSchedule training;
    try {
        (void)make_schedule(training, {.steps = 0});
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(std::string(error.message()).find("steps"), std::string::npos);
    }
    EXPECT_THROW((void)make_schedule(training, {.steps = 1001}), core::Error);
    EXPECT_THROW((void)make_schedule(training, {.family = ScheduleFamily::Ddim, .sigma_schedule = SigmaSchedule::Karras}),
                 core::Error);
    EXPECT_THROW((void)make_schedule(training, {.steps = 51, .family = ScheduleFamily::Lcm}), core::Error);
    try {
        (void)parse_sigma_schedule("karas");
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_NE(std::string(error.message()).find("karras"), std::string::npos);
    }
    EXPECT_EQ(parse_timestep_spacing("trailing"), TimestepSpacing::Trailing);
    EXPECT_THROW((void)parse_timestep_spacing("middle"), core::Error);
}

} // namespace
} // namespace nd::sampling
