#include "pipeline/prediction.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace nd::pipeline {
namespace {

// A clean latent, noise, and the two views of their mix at noise level sigma.
struct Mix {
    float x0 = 0.7f;
    float noise = -1.3f;
    float sigma = 2.5f;
    [[nodiscard]] float alpha() const { return 1.0f / (sigma * sigma + 1.0f); } // alphas_cumprod
    [[nodiscard]] float z() const { return std::sqrt(alpha()) * x0 + std::sqrt(1.0f - alpha()) * noise; }
    [[nodiscard]] float v() const { return std::sqrt(alpha()) * noise - std::sqrt(1.0f - alpha()) * x0; }
};

TEST(Prediction, V_becomes_the_noise_it_encodes) {
    const Mix m;
    std::vector<float> prediction = {m.v()};
    const std::vector<float> input = {m.z()};
    eps_from_v(prediction, input, m.sigma);
    EXPECT_NEAR(prediction[0], m.noise, 1e-5f);
}

TEST(Prediction, V_to_eps_agrees_with_diffusers_euler_v_prediction_x0) {
    // EulerDiscreteScheduler, prediction_type v_prediction, on the sigma-view sample x = x0 + sigma * noise:
    // pred_x0 = v * (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1). Ours: x0 = x - sigma * eps.
    const Mix m;
    const float x = m.x0 + m.sigma * m.noise;
    const float diffusers_x0 =
        m.v() * (-m.sigma / std::sqrt(m.sigma * m.sigma + 1.0f)) + x / (m.sigma * m.sigma + 1.0f);
    std::vector<float> eps = {m.v()};
    const std::vector<float> input = {x / std::sqrt(m.sigma * m.sigma + 1.0f)};
    eps_from_v(eps, input, m.sigma);
    EXPECT_NEAR(x - m.sigma * eps[0], diffusers_x0, 1e-5f);
    EXPECT_NEAR(diffusers_x0, m.x0, 1e-5f);
}

TEST(Prediction, Denoised_recovers_the_clean_latent_from_the_true_noise) {
    const Mix m;
    std::vector<float> denoised(1);
    denoised_from_eps(std::vector<float>{m.noise}, std::vector<float>{m.z()}, m.sigma, denoised);
    EXPECT_NEAR(denoised[0], m.x0, 1e-5f);
}

} // namespace
} // namespace nd::pipeline
