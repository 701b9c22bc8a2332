#include "pipeline/prediction.hpp"

#include <cmath>
#include <cstddef>

namespace nd::pipeline {

void eps_from_v(std::span<float> prediction, std::span<const float> model_input, float sigma) {
    const float scale = 1.0F / std::sqrt(sigma * sigma + 1.0F);
    for (std::size_t i = 0; i < prediction.size(); ++i) {
        prediction[i] = (prediction[i] + sigma * model_input[i]) * scale;
    }
}

void denoised_from_eps(std::span<const float> eps, std::span<const float> model_input, float sigma,
                       std::span<float> denoised) {
    const float scale = std::sqrt(sigma * sigma + 1.0F);
    for (std::size_t i = 0; i < eps.size(); ++i) {
        denoised[i] = model_input[i] * scale - sigma * eps[i];
    }
}

} // namespace nd::pipeline
