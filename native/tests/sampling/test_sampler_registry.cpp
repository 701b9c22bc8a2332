#include "sampling/sampler_registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.hpp"
#include "sampling/gaussian_data.hpp"
#include "sampling/rng_cpu.hpp"

namespace nd::sampling {
namespace {

using testing::GaussianData;

struct Moments {
    double mean;
    double std_dev;
};

Moments moments(std::span<const float> values) {
    double sum = 0.0;
    double squares = 0.0;
    for (const float v : values) {
        sum += v;
        squares += static_cast<double>(v) * v;
    }
    const double mean = sum / static_cast<double>(values.size());
    return {mean, std::sqrt(squares / static_cast<double>(values.size()) - mean * mean)};
}

// Samples `count` elements of the Gaussian problem from seed 1 with `steps` steps; reports for each element
// the deterministic ODE end point of its initial latent as well.
struct Sampled {
    std::vector<float> latents;
    std::vector<double> ode_ends;
};

Sampled sample_gaussian(std::string_view name, int steps, std::size_t count, const GaussianData& data = {},
                        ScheduleOptions options = {}) {
    const NoiseSchedule training;
    const SamplerInfo& sampler = find_sampler(name);
    options.steps = steps;
    if (name == "ddim") {
        options.spacing = TimestepSpacing::Leading; // SD's DDIM configuration; linspace is not DDIM-consistent
    }
    const Schedule schedule = sampler_schedule(sampler, training, options);
    TorchCpuGenerator generator(1);
    Sampled result;
    result.latents = initial_latents(schedule, generator, count);
    // In the sigma view the initial latent is x itself; in the alpha view it is x / sqrt(sigma^2 + 1).
    const double sigma_start = sampler.family == ScheduleFamily::Euler || sampler.family == ScheduleFamily::DpmSolver
                                   ? schedule.sigmas.front()
                                   : training.sigmas()[static_cast<std::size_t>(schedule.timesteps.front())];
    const double to_sigma_view = sampler.view == LatentView::Sigma ? 1.0 : std::sqrt(sigma_start * sigma_start + 1.0);
    for (const float x : result.latents) {
        result.ode_ends.push_back(data.ode_end(x * to_sigma_view, sigma_start));
    }
    const EpsilonModel model = data.model();
    run_sampler(sampler, SamplerRun{training, schedule, model, generator}, result.latents);
    return result;
}

double max_error(const Sampled& sampled) {
    double largest = 0.0;
    for (std::size_t i = 0; i < sampled.latents.size(); ++i) {
        largest = std::max(largest, std::fabs(sampled.latents[i] - sampled.ode_ends[i]));
    }
    return largest;
}

class DeterministicSampler : public ::testing::TestWithParam<const char*> {};

TEST_P(DeterministicSampler, Follows_the_exact_probability_flow_ode_of_gaussian_data_and_converges) {
    // Latents reach |x| ~ 60 at sigma_max; the final step to sigma 0 alone costs up to ~(x - mu) sigma_last^2
    // / (2 s^2) (0.002 from sigma 0.029), so the bound is on the whole path, and the error must shrink.
    const double coarse = max_error(sample_gaussian(GetParam(), 25, 4096));
    const double fine = max_error(sample_gaussian(GetParam(), 250, 4096));
    std::cout << GetParam() << ": max error from the exact ODE solution " << coarse << " at 25 steps, " << fine
              << " at 250 steps\n";
    EXPECT_LT(fine, coarse / 3);
    EXPECT_LT(fine, 0.03);
}

INSTANTIATE_TEST_SUITE_P(Samplers, DeterministicSampler,
                         ::testing::Values("euler", "heun", "dpm2", "dpmpp_2m", "ddim"));

TEST(DeterministicSampler, Higher_order_samplers_beat_euler_at_equal_steps) {
    const double euler = max_error(sample_gaussian("euler", 25, 1024));
    EXPECT_LT(max_error(sample_gaussian("heun", 25, 1024)), euler / 4);
    EXPECT_LT(max_error(sample_gaussian("dpm2", 25, 1024)), euler / 2);
    EXPECT_LT(max_error(sample_gaussian("dpmpp_2m", 25, 1024)), euler / 2);
}

class StochasticSampler : public ::testing::TestWithParam<const char*> {};

TEST_P(StochasticSampler, Produces_the_data_distribution_over_many_elements) {
    // First-order SDE steps lose variance in proportion to the step size: at 500 steps the spread is within
    // 2% of the data's (the standard error of the estimate over 16384 elements is 0.5%), and closer than at 25.
    const GaussianData data;
    const Sampled sampled = sample_gaussian(GetParam(), 500, 16384, data);
    const Moments m = moments(sampled.latents);
    const Moments coarse = moments(sample_gaussian(GetParam(), 25, 16384, data).latents);
    std::cout << GetParam() << ": mean " << m.mean << " (data " << data.mu << "), std " << m.std_dev << " (data "
              << data.s << "), std at 25 steps " << coarse.std_dev << "\n";
    EXPECT_NEAR(m.mean, data.mu, 0.02);
    EXPECT_NEAR(m.std_dev, data.s, 0.02 * data.s);
    EXPECT_LE(std::fabs(m.std_dev - data.s), std::fabs(coarse.std_dev - data.s));
    // Not the ODE's answer: fresh noise decorrelates each sample from its initial latent.
    EXPECT_GT(max_error(sampled), 0.5);
}

INSTANTIATE_TEST_SUITE_P(Samplers, StochasticSampler, ::testing::Values("euler_a", "dpmpp_2s_a", "dpmpp_sde"));

TEST(StochasticSampler, Lcm_lands_on_the_data_mean_with_the_posterior_spread_of_its_last_step) {
    // With the ideal (posterior-mean) denoiser, LCM's last step returns D(x, sigma_last) (c_skip ~ 0): mean mu
    // and a spread below s.
    const GaussianData data;
    const Sampled sampled = sample_gaussian("lcm", 4, 65536, data);
    const Moments m = moments(sampled.latents);
    EXPECT_NEAR(m.mean, data.mu, 0.02);
    EXPECT_LT(m.std_dev, data.s);
    EXPECT_GT(m.std_dev, 0.5 * data.s);
}

TEST(SamplerRegistry, Lists_the_samplers_users_know_by_unique_names) {
    std::set<std::string_view> names;
    for (const SamplerInfo& sampler : samplers()) {
        EXPECT_TRUE(names.insert(sampler.name).second) << sampler.name;
        EXPECT_NE(sampler.loop, nullptr) << sampler.name;
    }
    for (const char* name : {"euler", "euler_a", "heun", "dpm2", "dpmpp_2m", "dpmpp_2s_a", "dpmpp_sde", "ddim", "lcm"}) {
        EXPECT_EQ(find_sampler(name).name, name);
    }
}

TEST(SamplerRegistry, Unknown_name_is_not_found_and_the_message_lists_the_valid_names) {
    try {
        (void)find_sampler("euler_ancestral");
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_NOT_FOUND);
        const std::string message(error.message());
        EXPECT_NE(message.find("'euler_ancestral'"), std::string::npos) << message;
        EXPECT_NE(message.find(sampler_names()), std::string::npos) << message;
    }
}

TEST(SamplerRegistry, A_schedule_of_another_family_is_rejected) {
    const NoiseSchedule training;
    const Schedule ddim = make_schedule(training, {.steps = 4, .family = ScheduleFamily::Ddim});
    const EpsilonModel model = GaussianData{}.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents(16);
    try {
        run_sampler("euler", SamplerRun{training, ddim, model, generator}, latents);
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(std::string(error.message()).find("euler"), std::string::npos);
    }
}

TEST(SamplerRegistry, Start_step_outside_the_schedule_is_rejected) {
    const NoiseSchedule training;
    const Schedule schedule = make_schedule(training, {.steps = 4});
    const EpsilonModel model = GaussianData{}.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents(16);
    EXPECT_THROW(run_sampler("euler", SamplerRun{training, schedule, model, generator, 5}, latents), core::Error);
    EXPECT_THROW(run_sampler("euler", SamplerRun{training, schedule, model, generator, -1}, latents), core::Error);
}

TEST(SamplerRegistry, Observer_sees_every_step_run_and_an_exception_stops_sampling) {
    const NoiseSchedule training;
    const Schedule schedule = make_schedule(training, {.steps = 5});
    const EpsilonModel model = GaussianData{}.model();
    TorchCpuGenerator generator(0);
    std::vector<float> latents = initial_latents(schedule, generator, 8);
    std::vector<int> seen;
    const StepObserver observer = [&](int step, int steps, std::span<const float>) {
        EXPECT_EQ(steps, 5);
        seen.push_back(step);
        if (step == 3) {
            throw core::Error(ND_STATUS_CANCELLED, "cancelled");
        }
    };
    SamplerRun run{training, schedule, model, generator, 2, &observer};
    EXPECT_THROW(run_sampler("euler", run, latents), core::Error);
    EXPECT_EQ(seen, (std::vector<int>{2, 3}));
}

TEST(SamplerRegistry, Initial_latents_are_the_first_draw_times_init_noise_sigma) {
    const NoiseSchedule training;
    const Schedule schedule = make_schedule(training, {.steps = 6});
    TorchCpuGenerator a(7);
    TorchCpuGenerator b(7);
    const std::vector<float> latents = initial_latents(schedule, a, 256);
    const std::vector<float> noise = b.randn(256);
    for (std::size_t i = 0; i < noise.size(); ++i) {
        ASSERT_EQ(latents[i], noise[i] * schedule.init_noise_sigma) << i;
    }
}

TEST(SamplerRegistry, Add_noise_uses_each_views_noise_level_at_the_start_step) {
    const NoiseSchedule training;
    const std::vector<float> noise{1.0F, -2.0F};
    {
        const Schedule schedule = sampler_schedule(find_sampler("euler"), training, {.steps = 10});
        std::vector<float> x{0.5F, 0.25F};
        add_noise(find_sampler("euler"), training, schedule, 4, x, noise);
        EXPECT_EQ(x[0], 0.5F + 1.0F * schedule.sigmas[4]);
        EXPECT_EQ(x[1], 0.25F + -2.0F * schedule.sigmas[4]);
    }
    {
        const Schedule schedule =
            sampler_schedule(find_sampler("ddim"), training, {.steps = 10, .spacing = TimestepSpacing::Leading});
        std::vector<float> x{0.5F, 0.25F};
        add_noise(find_sampler("ddim"), training, schedule, 4, x, noise);
        const float alpha = training.alphas_cumprod()[static_cast<std::size_t>(schedule.timesteps[4])];
        EXPECT_FLOAT_EQ(x[0], std::sqrt(alpha) * 0.5F + std::sqrt(1.0F - alpha) * 1.0F);
    }
    {
        const Schedule schedule = sampler_schedule(find_sampler("dpmpp_2m"), training, {.steps = 10});
        std::vector<float> x{0.5F, 0.25F};
        add_noise(find_sampler("dpmpp_2m"), training, schedule, 4, x, noise);
        const double sigma = schedule.sigmas[4];
        EXPECT_NEAR(x[1], (0.25 - 2.0 * sigma) / std::sqrt(sigma * sigma + 1.0), 1e-6);
    }
}

TEST(SamplerRegistry, Img2img_from_noised_data_stays_on_the_ode_of_its_start_level) {
    // Noising x0 to step 20's sigma and sampling the remaining steps follows the ODE from that sigma.
    const GaussianData data;
    const NoiseSchedule training;
    const SamplerInfo& heun = find_sampler("heun"); // accurate enough to see the start level to 0.005
    const Schedule schedule = sampler_schedule(heun, training, {.steps = 50});
    const int start = img2img_start_step(50, 0.6);
    ASSERT_EQ(start, 20);
    TorchCpuGenerator generator(3);
    std::vector<float> latents(1024, 0.9F);
    const std::vector<float> noise = generator.randn(latents.size());
    add_noise(heun, training, schedule, start, latents, noise);
    std::vector<double> expected;
    for (const float x : latents) {
        expected.push_back(data.ode_end(x, schedule.sigmas[static_cast<std::size_t>(start)]));
    }
    const EpsilonModel model = data.model();
    run_sampler(heun, SamplerRun{training, schedule, model, generator, start}, latents);
    for (std::size_t i = 0; i < latents.size(); ++i) {
        ASSERT_NEAR(latents[i], expected[i], 0.005) << i;
    }
}

TEST(SamplerRegistry, Ancestral_samplers_continue_the_generators_stream_one_draw_per_step) {
    // euler_a with 3 steps draws the latents, then 3 x 16 values: the generator ends where one that drew
    // 4 x 16 values ends.
    const NoiseSchedule training;
    const Schedule schedule = sampler_schedule(find_sampler("euler_a"), training, {.steps = 3});
    const EpsilonModel model = GaussianData{}.model();
    TorchCpuGenerator generator(9);
    std::vector<float> latents = initial_latents(schedule, generator, 16);
    run_sampler("euler_a", SamplerRun{training, schedule, model, generator}, latents);
    TorchCpuGenerator reference(9);
    for (int draw = 0; draw < 4; ++draw) {
        (void)reference.randn(16);
    }
    EXPECT_EQ(generator.next_u32(), reference.next_u32());
}

} // namespace
} // namespace nd::sampling
