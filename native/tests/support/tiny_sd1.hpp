// The tiny SD 1.x fixture (shared/fixtures/tiny-sd1): its weights and diffusers' reference tensors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <vector>

#include "core/tensor.hpp"
#include "support/fixtures.hpp"

namespace nd::testing {

inline std::filesystem::path tiny_sd1_model() {
    return fixtures_dir() / "tiny-sd1" / "model.safetensors";
}
inline std::filesystem::path tiny_sd1_reference() {
    return fixtures_dir() / "tiny-sd1" / "reference.safetensors";
}

// The largest |a - b| over two tensors of one shape (NaN if either holds a NaN), +inf on a shape mismatch.
inline float max_abs_error(const core::Tensor& actual, const core::Tensor& expected) {
    if (!(actual.shape() == expected.shape())) {
        return INFINITY;
    }
    const std::vector<float> a = actual.to_f32();
    const std::vector<float> b = expected.to_f32();
    float worst = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const float d = std::fabs(a[i] - b[i]);
        if (std::isnan(d)) {
            return NAN;
        }
        worst = std::max(worst, d);
    }
    return worst;
}

// The largest |x| of a tensor.
inline float max_abs(const core::Tensor& tensor) {
    float worst = 0.0f;
    for (const float x : tensor.to_f32()) {
        worst = std::max(worst, std::fabs(x));
    }
    return worst;
}

} // namespace nd::testing
