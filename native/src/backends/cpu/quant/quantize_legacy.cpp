// The 32-element formats: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1. The quantizers make the same choices as GGML's
// reference ones (scale from the extreme value, the same rounding), so a row quantized here is byte-for-byte
// what stable-diffusion.cpp's converter writes.
#include "backends/cpu/quant/quantize_impl.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.hpp"

namespace nd::backends::cpu::quant::detail {

namespace {

using core::f16_to_f32;
using core::f32_to_f16;

// The value of largest magnitude, with its sign: the symmetric formats map it to their most negative level,
// which uses the one extra negative step of a two's-complement range.
float signed_extreme(const float* x, int n) {
    float amax = 0.0f;
    float extreme = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            extreme = x[j];
        }
    }
    return extreme;
}

void min_max(const float* x, int n, float& lo, float& hi) {
    lo = x[0];
    hi = x[0];
    for (int j = 1; j < n; ++j) {
        lo = std::min(lo, x[j]);
        hi = std::max(hi, x[j]);
    }
}

std::uint32_t load_u32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

void store_u32(std::uint8_t* p, std::uint32_t v) {
    std::memcpy(p, &v, 4);
}

} // namespace

void quantize_q8_0(const float* x, BlockQ8_0& b) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) {
        amax = std::max(amax, std::fabs(x[j]));
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    for (int j = 0; j < kBlock; ++j) {
        b.qs[j] = static_cast<std::int8_t>(std::lround(x[j] * id));
    }
}

void dequantize_q8_0(const BlockQ8_0& b, float* y) {
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kBlock; ++j) {
        y[j] = static_cast<float>(b.qs[j]) * d;
    }
}

void quantize_q4_0(const float* x, BlockQ4_0& b) {
    const float d = signed_extreme(x, kBlock) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    for (int j = 0; j < kBlock / 2; ++j) {
        // Truncation after +8.5 is round-half-up into 0..16; 16 (only the extreme's opposite) clamps to 15.
        const int lo = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 8.5f)));
        const int hi = std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j + 16] * id + 8.5f)));
        b.qs[j] = static_cast<std::uint8_t>(lo | (hi << 4));
    }
}

void dequantize_q4_0(const BlockQ4_0& b, float* y) {
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kBlock / 2; ++j) {
        y[j] = static_cast<float>((b.qs[j] & 0xF) - 8) * d;
        y[j + 16] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
}

void quantize_q4_1(const float* x, BlockQ4_1& b) {
    float lo = 0.0f;
    float hi = 0.0f;
    min_max(x, kBlock, lo, hi);
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    b.m = f32_to_f16(lo);
    for (int j = 0; j < kBlock / 2; ++j) {
        const int q0 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j] - lo) * id + 0.5f)));
        const int q1 = std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j + 16] - lo) * id + 0.5f)));
        b.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
}

void dequantize_q4_1(const BlockQ4_1& b, float* y) {
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    for (int j = 0; j < kBlock / 2; ++j) {
        y[j] = static_cast<float>(b.qs[j] & 0xF) * d + m;
        y[j + 16] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
}

namespace {

// Q5 packing shared by Q5_0 and Q5_1: four low bits in nibbles like Q4, the fifth bit of element j in bit j.
template <typename Block>
void pack_q5(Block& b, const int* q) {
    std::uint32_t qh = 0;
    for (int j = 0; j < kBlock / 2; ++j) {
        b.qs[j] = static_cast<std::uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
        qh |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
        qh |= static_cast<std::uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
    }
    store_u32(b.qh, qh);
}

template <typename Block>
void unpack_q5(const Block& b, int* q) {
    const std::uint32_t qh = load_u32(b.qh);
    for (int j = 0; j < kBlock / 2; ++j) {
        q[j] = (b.qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4);
        q[j + 16] = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
    }
}

} // namespace

void quantize_q5_0(const float* x, BlockQ5_0& b) {
    const float d = signed_extreme(x, kBlock) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    int q[kBlock];
    for (int j = 0; j < kBlock; ++j) {
        q[j] = std::min(31, static_cast<int>(static_cast<std::int8_t>(x[j] * id + 16.5f)));
    }
    pack_q5(b, q);
}

void dequantize_q5_0(const BlockQ5_0& b, float* y) {
    const float d = f16_to_f32(b.d);
    int q[kBlock];
    unpack_q5(b, q);
    for (int j = 0; j < kBlock; ++j) {
        y[j] = static_cast<float>(q[j] - 16) * d;
    }
}

void quantize_q5_1(const float* x, BlockQ5_1& b) {
    float lo = 0.0f;
    float hi = 0.0f;
    min_max(x, kBlock, lo, hi);
    const float d = (hi - lo) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    b.m = f32_to_f16(lo);
    int q[kBlock];
    for (int j = 0; j < kBlock; ++j) {
        q[j] = std::min(31, static_cast<int>(static_cast<std::uint8_t>((x[j] - lo) * id + 0.5f)));
    }
    pack_q5(b, q);
}

void dequantize_q5_1(const BlockQ5_1& b, float* y) {
    const float d = f16_to_f32(b.d);
    const float m = f16_to_f32(b.m);
    int q[kBlock];
    unpack_q5(b, q);
    for (int j = 0; j < kBlock; ++j) {
        y[j] = static_cast<float>(q[j]) * d + m;
    }
}

} // namespace nd::backends::cpu::quant::detail
