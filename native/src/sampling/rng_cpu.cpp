#include "sampling/rng_cpu.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

namespace nd::sampling {

namespace {

// torch's AVX2 normal fill calls the avx_mathfun polynomials (Cephes' single-precision log and sincos).
// PyTorch builds that file with FMA enabled and the compiler fuses each multiply feeding an add, so the
// fused operations below are spelled out with std::fma: that is what makes the values bit-identical.
float cephes_log(float input) {
    float x = std::max(input, 1.17549435e-38F); // the smallest normal float: denormals are cut off
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    float e = static_cast<float>(static_cast<std::int32_t>(bits >> 23) - 0x7f);
    x = std::bit_cast<float>((bits & ~0x7f800000U) | std::bit_cast<std::uint32_t>(0.5F)); // mantissa in [0.5, 1)
    e = e + 1.0F;
    const bool below_sqrt_half = x < 0.707106781186547524F;
    const float carry = below_sqrt_half ? x : 0.0F;
    x = x - 1.0F;
    e = e - (below_sqrt_half ? 1.0F : 0.0F);
    x = x + carry;
    const float z = x * x;
    float y = 7.0376836292E-2F;
    y = std::fma(y, x, -1.1514610310E-1F);
    y = std::fma(y, x, 1.1676998740E-1F);
    y = std::fma(y, x, -1.2420140846E-1F);
    y = std::fma(y, x, 1.4249322787E-1F);
    y = std::fma(y, x, -1.6668057665E-1F);
    y = std::fma(y, x, 2.0000714765E-1F);
    y = std::fma(y, x, -2.4999993993E-1F);
    y = std::fma(y, x, 3.3333331174E-1F);
    y = y * x;
    y = std::fma(y, z, e * -2.12194440e-4F);
    y = y - z * 0.5F;
    x = x + y;
    x = std::fma(e, 0.693359375F, x);
    if (!(input > 0.0F)) {
        return std::bit_cast<float>(0xffffffffU); // NaN, as the vector code's invalid mask gives
    }
    return x;
}

void cephes_sincos(float input, float& sine, float& cosine) {
    std::uint32_t sign_sin = std::bit_cast<std::uint32_t>(input) & 0x80000000U;
    float x = std::fabs(input);
    // The octant: j = (int(x * 4/pi) + 1) & ~1, then x is reduced by j * pi/4 in three parts.
    std::int32_t j = static_cast<std::int32_t>(x * 1.27323954473516F);
    j = (j + 1) & ~1;
    const float y = static_cast<float>(j);
    const std::uint32_t swap_sign_sin = (static_cast<std::uint32_t>(j) & 4U) << 29;
    const bool sine_is_first_polynomial = (j & 2) == 0;
    x = std::fma(y, -0.78515625F, x);
    x = std::fma(y, -2.4187564849853515625e-4F, x);
    x = std::fma(y, -3.77489497744594108e-8F, x);
    const std::uint32_t sign_cos = (~static_cast<std::uint32_t>(j - 2) & 4U) << 29;
    sign_sin ^= swap_sign_sin;

    const float z = x * x;
    float c = 2.443315711809948E-005F;
    c = std::fma(c, z, -1.388731625493765E-003F);
    c = std::fma(c, z, 4.166664568298827E-002F);
    c = c * z;
    c = std::fma(c, z, -(z * 0.5F));
    c = c + 1.0F;

    float s = -1.9515295891E-4F;
    s = std::fma(s, z, 8.3321608736E-3F);
    s = std::fma(s, z, -1.6666654611E-1F);
    s = s * z;
    s = std::fma(s, x, x);

    const float sine_value = sine_is_first_polynomial ? s : c;
    const float cosine_value = sine_is_first_polynomial ? c : s;
    sine = std::bit_cast<float>(std::bit_cast<std::uint32_t>(sine_value) ^ sign_sin);
    cosine = std::bit_cast<float>(std::bit_cast<std::uint32_t>(cosine_value) ^ sign_cos);
}

} // namespace

namespace detail {

void torch_normal_fill_16(float* values) {
    const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
    for (int j = 0; j < 8; ++j) {
        const float u1 = 1.0F - values[j]; // (0, 1]: the log never sees 0
        const float u2 = values[j + 8];
        const float radius = std::sqrt(-2.0F * cephes_log(u1));
        float sine = 0.0F;
        float cosine = 0.0F;
        cephes_sincos(two_pi * u2, sine, cosine);
        values[j] = radius * cosine;
        values[j + 8] = radius * sine;
    }
}

} // namespace detail

TorchCpuGenerator::TorchCpuGenerator(std::uint64_t seed)
    : engine_(static_cast<std::uint32_t>(seed & 0xffffffffU)) {}

std::unique_ptr<NoiseGenerator> TorchCpuGenerator::clone() const {
    return std::make_unique<TorchCpuGenerator>(*this);
}

float TorchCpuGenerator::uniform_float() {
    return static_cast<float>(next_u32() & 0xffffffU) * (1.0F / 16777216.0F);
}

double TorchCpuGenerator::uniform_double() {
    const std::uint64_t high = next_u32();
    const std::uint64_t low = next_u32();
    const std::uint64_t bits = ((high << 32) | low) & ((std::uint64_t{1} << 53) - 1);
    return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

void TorchCpuGenerator::fill_randn(std::span<float> out) {
    if (out.size() >= 16) {
        fill_block_path(out);
    } else {
        fill_scalar_path(out);
    }
}

void TorchCpuGenerator::fill_scalar_path(std::span<float> out) {
    for (float& value : out) {
        if (next_double_normal_) {
            value = static_cast<float>(*next_double_normal_);
            next_double_normal_.reset();
            continue;
        }
        const double u1 = uniform_double();
        const double u2 = uniform_double();
        const double radius = std::sqrt(-2.0 * std::log1p(-u2));
        const double theta = 2.0 * std::numbers::pi * u1;
        next_double_normal_ = radius * std::sin(theta);
        value = static_cast<float>(radius * std::cos(theta));
    }
}

void TorchCpuGenerator::fill_block_path(std::span<float> out) {
    const std::size_t size = out.size();
    for (float& value : out) {
        value = uniform_float();
    }
    for (std::size_t i = 0; i + 16 <= size; i += 16) {
        detail::torch_normal_fill_16(out.data() + i);
    }
    if (size % 16 != 0) {
        float* tail = out.data() + size - 16;
        for (std::size_t i = 0; i < 16; ++i) {
            tail[i] = uniform_float();
        }
        detail::torch_normal_fill_16(tail);
    }
}

} // namespace nd::sampling
