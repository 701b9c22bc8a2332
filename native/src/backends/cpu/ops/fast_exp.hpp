// exp(x) for float without a library call, so that loops over it vectorise: x = n ln2 + r with |r| <= ln2/2,
// exp(r) by a degree-6 polynomial (relative error < 2e-7 on that range), 2^n built in the exponent bits.
// Inputs below -87 give 0 (softmax uses exp of values <= 0, where that is the right answer).
#pragma once

#include <bit>
#include <cstdint>

namespace nd::backends::cpu::ops {

inline float fast_exp(float x) noexcept {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = __builtin_rintf(x * 1.44269504088896341f); // rint vectorises (roundf does not)
    const float r = x - n * 0.693145751953125f - n * 1.42860682030941723212e-6f; // ln2 split for exactness
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
    const float result = p * std::bit_cast<float>(bits);
    return x <= -87.0f ? 0.0f : result;
}

} // namespace nd::backends::cpu::ops
