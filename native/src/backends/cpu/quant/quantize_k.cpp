// The K formats: super-blocks of 256 elements split into sub-blocks of 16 or 32, each with its own small
// integer scale (and min), which are in turn scaled by one or two f16 numbers per super-block.
//
// Dequantization follows the GGUF bit layout exactly. Quantization is ours: per sub-block we search the scale
// (and min) that minimises the squared error over a small set of candidate scales, then quantize the sub-block
// scales to their 4/6/8 bits and recompute the quants with the scales as stored. It lands within the formats'
// usual error (tested) but is not guaranteed to choose the same bytes as GGML's quantizers.
#include "backends/cpu/quant/quantize_impl.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.hpp"

namespace nd::backends::cpu::quant::detail {

namespace {

using core::f16_to_f32;
using core::f32_to_f16;

int nearest(float v) {
    return static_cast<int>(std::lrint(v));
}

// Fits x ≈ scale * q - min with q in 0..nmax and min >= 0 (stored as a non-negative number that is
// subtracted). Candidates stretch the naive range scale a little both ways; each is refined by least squares
// over the q it produces. Returns the scale; `min` receives the offset.
float fit_asymmetric(const float* x, int n, int nmax, float& min) {
    float lo = x[0];
    float hi = x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    lo = std::min(lo, 0.0f); // the offset can only lower values: a block of positives keeps zero reachable
    if (hi <= lo) {
        min = -lo;
        return 0.0f;
    }
    float best_scale = (hi - lo) / static_cast<float>(nmax);
    float best_min = -lo;
    float best_error = INFINITY;
    for (int step = -6; step <= 12; ++step) {
        const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
        // Least squares for x ≈ a*q + b given these q: a 2x2 normal system.
        double sq = 0, sqq = 0, sx = 0, sqx = 0;
        int q_buffer[32];
        for (int i = 0; i < n; ++i) {
            const int q = std::clamp(nearest(iscale * (x[i] - lo)), 0, nmax);
            q_buffer[i] = q;
            sq += q;
            sqq += static_cast<double>(q) * q;
            sx += x[i];
            sqx += static_cast<double>(q) * x[i];
        }
        const double det = n * sqq - sq * sq;
        if (det <= 0) {
            continue;
        }
        double a = (n * sqx - sq * sx) / det;
        double b = (sqq * sx - sq * sqx) / det;
        if (b > 0) { // the offset must be <= 0: refit the scale alone with b = 0
            b = 0;
            a = sqq > 0 ? sqx / sqq : 0;
        }
        if (a <= 0) {
            continue;
        }
        double error = 0;
        for (int i = 0; i < n; ++i) {
            const double diff = a * q_buffer[i] + b - x[i];
            error += diff * diff;
        }
        if (error < best_error) {
            best_error = static_cast<float>(error);
            best_scale = static_cast<float>(a);
            best_min = static_cast<float>(-b);
        }
    }
    min = best_min;
    return best_scale;
}

// Fits x ≈ scale * q with q in -nmax..nmax-1, weighting large values more (they dominate the output of a
// matmul). Returns the scale, signed so that the extreme value maps to -nmax as the symmetric formats expect.
float fit_symmetric(const float* x, int n, int nmax) {
    float amax = 0.0f;
    float extreme = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            extreme = x[i];
        }
    }
    if (amax == 0.0f) {
        return 0.0f;
    }
    float best_scale = extreme / static_cast<float>(-nmax);
    double best_error = INFINITY;
    for (int step = -9; step <= 9; ++step) {
        const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / extreme;
        double sxq = 0, sqq = 0;
        for (int i = 0; i < n; ++i) {
            const double w = static_cast<double>(x[i]) * x[i];
            const int q = std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
            sxq += w * x[i] * q;
            sqq += w * q * q;
        }
        if (sqq <= 0) {
            continue;
        }
        const double scale = sxq / sqq;
        double error = 0;
        for (int i = 0; i < n; ++i) {
            const double w = static_cast<double>(x[i]) * x[i];
            const int q = std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
            const double diff = scale * q - x[i];
            error += w * diff * diff;
        }
        if (error < best_error) {
            best_error = error;
            best_scale = static_cast<float>(scale);
        }
    }
    return best_scale;
}

// Q4_K/Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins, packed into 12 bytes (see blocks.hpp).
void pack_scale_min_k4(const int* ls, const int* lm, std::uint8_t* packed) {
    std::memset(packed, 0, kScaleBytes);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            packed[j] = static_cast<std::uint8_t>(ls[j]);
            packed[j + 4] = static_cast<std::uint8_t>(lm[j]);
        } else {
            packed[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            packed[j - 4] |= static_cast<std::uint8_t>((ls[j] >> 4) << 6);
            packed[j] |= static_cast<std::uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

// The shared part of Q4_K and Q5_K: sub-block fits, their 6-bit codes, and the final quants in 0..nmax.
void quantize_k4_style(const float* x, int nmax, std::uint16_t& d_bits, std::uint16_t& dmin_bits,
                       std::uint8_t* packed_scales, int* q) {
    float scales[8];
    float mins[8];
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
        scales[j] = fit_asymmetric(x + 32 * j, 32, nmax, mins[j]);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    int ls[8];
    int lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = std::min(63, nearest(inv_scale * scales[j]));
        lm[j] = std::min(63, nearest(inv_min * mins[j]));
    }
    pack_scale_min_k4(ls, lm, packed_scales);
    d_bits = f32_to_f16(max_scale / 63.0f);
    dmin_bits = f32_to_f16(max_min / 63.0f);
    // Requantize against the scales as they will be read back, so that rounding of the codes is absorbed.
    const float d = f16_to_f32(d_bits);
    const float dmin = f16_to_f32(dmin_bits);
    for (int j = 0; j < 8; ++j) {
        std::uint8_t sc = 0;
        std::uint8_t m = 0;
        unpack_scale_min_k4(j, packed_scales, sc, m);
        const float step = d * sc;
        const float offset = dmin * m;
        for (int i = 0; i < 32; ++i) {
            q[32 * j + i] = step > 0 ? std::clamp(nearest((x[32 * j + i] + offset) / step), 0, nmax) : 0;
        }
    }
}

} // namespace

void quantize_q4_k(const float* x, BlockQ4_K& b) {
    int q[kSuper];
    quantize_k4_style(x, 15, b.d, b.dmin, b.scales, q);
    for (int n = 0; n < kSuper; n += 64) {
        for (int l = 0; l < 32; ++l) {
            b.qs[n / 2 + l] = static_cast<std::uint8_t>(q[n + l] | (q[n + l + 32] << 4));
        }
    }
}

void dequantize_q4_k(const BlockQ4_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    const std::uint8_t* qs = b.qs;
    for (int n = 0, sub = 0; n < kSuper; n += 64, sub += 2, qs += 32) {
        std::uint8_t sc = 0;
        std::uint8_t m = 0;
        unpack_scale_min_k4(sub, b.scales, sc, m);
        const float d1 = d * sc;
        const float m1 = dmin * m;
        unpack_scale_min_k4(sub + 1, b.scales, sc, m);
        const float d2 = d * sc;
        const float m2 = dmin * m;
        for (int l = 0; l < 32; ++l) {
            y[n + l] = d1 * static_cast<float>(qs[l] & 0xF) - m1;
            y[n + l + 32] = d2 * static_cast<float>(qs[l] >> 4) - m2;
        }
    }
}

void quantize_q5_k(const float* x, BlockQ5_K& b) {
    int q[kSuper];
    quantize_k4_style(x, 31, b.d, b.dmin, b.scales, q);
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int n = 0, bit = 0; n < kSuper; n += 64, bit += 2) {
        for (int l = 0; l < 32; ++l) {
            const int lo = q[n + l];
            const int hi = q[n + l + 32];
            b.qs[n / 2 + l] = static_cast<std::uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            b.qh[l] |= static_cast<std::uint8_t>(((lo >> 4) << bit) | ((hi >> 4) << (bit + 1)));
        }
    }
}

void dequantize_q5_k(const BlockQ5_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    const std::uint8_t* qs = b.qs;
    for (int n = 0, sub = 0, bit = 0; n < kSuper; n += 64, sub += 2, bit += 2, qs += 32) {
        std::uint8_t sc = 0;
        std::uint8_t m = 0;
        unpack_scale_min_k4(sub, b.scales, sc, m);
        const float d1 = d * sc;
        const float m1 = dmin * m;
        unpack_scale_min_k4(sub + 1, b.scales, sc, m);
        const float d2 = d * sc;
        const float m2 = dmin * m;
        for (int l = 0; l < 32; ++l) {
            const int lo = (qs[l] & 0xF) | (((b.qh[l] >> bit) & 1) << 4);
            const int hi = (qs[l] >> 4) | (((b.qh[l] >> (bit + 1)) & 1) << 4);
            y[n + l] = d1 * static_cast<float>(lo) - m1;
            y[n + l + 32] = d2 * static_cast<float>(hi) - m2;
        }
    }
}

void quantize_q2_k(const float* x, BlockQ2_K& b) {
    float scales[16];
    float mins[16];
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int j = 0; j < 16; ++j) {
        scales[j] = fit_asymmetric(x + 16 * j, 16, 3, mins[j]);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 15.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 15.0f / max_min : 0.0f;
    for (int j = 0; j < 16; ++j) {
        const int ls = std::min(15, nearest(inv_scale * scales[j]));
        const int lm = std::min(15, nearest(inv_min * mins[j]));
        b.scales[j] = static_cast<std::uint8_t>(ls | (lm << 4));
    }
    b.d = f32_to_f16(max_scale / 15.0f);
    b.dmin = f32_to_f16(max_min / 15.0f);
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    int q[kSuper];
    for (int j = 0; j < 16; ++j) {
        const float step = d * static_cast<float>(b.scales[j] & 0xF);
        const float offset = dmin * static_cast<float>(b.scales[j] >> 4);
        for (int i = 0; i < 16; ++i) {
            q[16 * j + i] = step > 0 ? std::clamp(nearest((x[16 * j + i] + offset) / step), 0, 3) : 0;
        }
    }
    // Each byte of a 32-byte group holds four elements 32 apart, lowest bits first.
    for (int n = 0; n < kSuper; n += 128) {
        for (int l = 0; l < 32; ++l) {
            b.qs[n / 4 + l] = static_cast<std::uint8_t>(q[n + l] | (q[n + l + 32] << 2) | (q[n + l + 64] << 4) |
                                                        (q[n + l + 96] << 6));
        }
    }
}

void dequantize_q2_k(const BlockQ2_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    for (int e = 0; e < kSuper; ++e) {
        const int n = e / 128;
        const int shift = 2 * ((e % 128) / 32);
        const int l = e % 32;
        const int q = (b.qs[n * 32 + l] >> shift) & 3;
        const std::uint8_t sc = b.scales[e / 16];
        y[e] = d * static_cast<float>(sc & 0xF) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
    }
}

namespace {

// Q3_K's sixteen 6-bit scales: low 4 bits in nibbles of bytes 0-7 (scales 0-7 low, 8-15 high nibble),
// top 2 bits in bytes 8-11 (scale j in byte 8 + j % 4, at bit 2 * (j / 4)).
void pack_scales_q3(const int* codes, std::uint8_t* packed) {
    std::memset(packed, 0, kScaleBytes);
    for (int j = 0; j < 16; ++j) {
        const int code = codes[j];
        if (j < 8) {
            packed[j] = static_cast<std::uint8_t>(code & 0xF);
        } else {
            packed[j - 8] |= static_cast<std::uint8_t>((code & 0xF) << 4);
        }
        packed[8 + j % 4] |= static_cast<std::uint8_t>((code >> 4) << (2 * (j / 4)));
    }
}

int unpack_scale_q3(const std::uint8_t* packed, int j) {
    const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

} // namespace

void quantize_q3_k(const float* x, BlockQ3_K& b) {
    float scales[16];
    float extreme = 0.0f;
    for (int j = 0; j < 16; ++j) {
        scales[j] = fit_symmetric(x + 16 * j, 16, 4);
        if (std::fabs(scales[j]) > std::fabs(extreme)) {
            extreme = scales[j];
        }
    }
    int codes[16];
    if (extreme != 0.0f) {
        const float iscale = -32.0f / extreme;
        for (int j = 0; j < 16; ++j) {
            codes[j] = std::clamp(nearest(iscale * scales[j]), -32, 31) + 32;
        }
        b.d = f32_to_f16(1.0f / iscale);
    } else {
        std::fill(codes, codes + 16, 32);
        b.d = 0;
    }
    pack_scales_q3(codes, b.scales);
    const float d = f16_to_f32(b.d);
    std::memset(b.hmask, 0, sizeof(b.hmask));
    std::memset(b.qs, 0, sizeof(b.qs));
    for (int e = 0; e < kSuper; ++e) {
        const float step = d * static_cast<float>(unpack_scale_q3(b.scales, e / 16));
        const int level = (step != 0.0f ? std::clamp(nearest(x[e] / step), -4, 3) : 0) + 4; // 0..7
        const int n = e / 128;
        const int j = (e % 128) / 32;
        const int l = e % 32;
        b.qs[n * 32 + l] |= static_cast<std::uint8_t>((level & 3) << (2 * j));
        if (level >= 4) { // a set mask bit means "no -4"
            b.hmask[l] |= static_cast<std::uint8_t>(1u << (n * 4 + j));
        }
    }
}

void dequantize_q3_k(const BlockQ3_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    for (int e = 0; e < kSuper; ++e) {
        const int n = e / 128;
        const int j = (e % 128) / 32;
        const int l = e % 32;
        const int low = (b.qs[n * 32 + l] >> (2 * j)) & 3;
        const int q = low - ((b.hmask[l] >> (n * 4 + j)) & 1 ? 0 : 4);
        y[e] = d * static_cast<float>(unpack_scale_q3(b.scales, e / 16)) * static_cast<float>(q);
    }
}

void quantize_q6_k(const float* x, BlockQ6_K& b) {
    float scales[16];
    float extreme = 0.0f;
    for (int j = 0; j < 16; ++j) {
        scales[j] = fit_symmetric(x + 16 * j, 16, 32);
        if (std::fabs(scales[j]) > std::fabs(extreme)) {
            extreme = scales[j];
        }
    }
    if (extreme == 0.0f) {
        std::memset(&b, 0, sizeof(b));
        std::memset(b.ql, 0, sizeof(b.ql));
        for (int i = 0; i < 64; ++i) {
            b.qh[i] = 0xAA; // every level 32 (value 0): high bits 10
        }
        return;
    }
    const float iscale = -128.0f / extreme;
    for (int j = 0; j < 16; ++j) {
        b.scales[j] = static_cast<std::int8_t>(std::min(127, nearest(iscale * scales[j])));
    }
    b.d = f32_to_f16(1.0f / iscale);
    const float d = f16_to_f32(b.d);
    int q[kSuper];
    for (int e = 0; e < kSuper; ++e) {
        const float step = d * static_cast<float>(b.scales[e / 16]);
        q[e] = (step != 0.0f ? std::clamp(nearest(x[e] / step), -32, 31) : 0) + 32; // 0..63
    }
    for (int n = 0; n < kSuper; n += 128) {
        std::uint8_t* ql = b.ql + n / 2;
        std::uint8_t* qh = b.qh + n / 4;
        for (int l = 0; l < 32; ++l) {
            const int q1 = q[n + l];
            const int q2 = q[n + l + 32];
            const int q3 = q[n + l + 64];
            const int q4 = q[n + l + 96];
            ql[l] = static_cast<std::uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[l + 32] = static_cast<std::uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[l] = static_cast<std::uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
}

void dequantize_q6_k(const BlockQ6_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    for (int n = 0; n < kSuper; n += 128) {
        const std::uint8_t* ql = b.ql + n / 2;
        const std::uint8_t* qh = b.qh + n / 4;
        const std::int8_t* sc = b.scales + n / 16;
        for (int l = 0; l < 32; ++l) {
            const int sub = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[n + l] = d * static_cast<float>(sc[sub + 0]) * static_cast<float>(q1);
            y[n + l + 32] = d * static_cast<float>(sc[sub + 2]) * static_cast<float>(q2);
            y[n + l + 64] = d * static_cast<float>(sc[sub + 4]) * static_cast<float>(q3);
            y[n + l + 96] = d * static_cast<float>(sc[sub + 6]) * static_cast<float>(q4);
        }
    }
}

void quantize_q8_k(const float* x, BlockQ8_K& b) {
    float amax = 0.0f;
    float extreme = 0.0f;
    for (int i = 0; i < kSuper; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            extreme = x[i];
        }
    }
    if (amax == 0.0f) {
        std::memset(&b, 0, sizeof(b));
        return;
    }
    const float iscale = -128.0f / extreme;
    for (int i = 0; i < kSuper; ++i) {
        b.qs[i] = static_cast<std::int8_t>(std::min(127, nearest(iscale * x[i])));
    }
    for (int j = 0; j < kSuper / 16; ++j) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) {
            sum += b.qs[16 * j + i];
        }
        b.bsums[j] = static_cast<std::int16_t>(sum);
    }
    b.d = 1.0f / iscale;
}

void dequantize_q8_k(const BlockQ8_K& b, float* y) {
    for (int i = 0; i < kSuper; ++i) {
        y[i] = b.d * static_cast<float>(b.qs[i]);
    }
}

} // namespace nd::backends::cpu::quant::detail
