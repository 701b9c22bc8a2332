// The K formats: super-blocks of 256 elements split into sub-blocks of 16 or 32, each with its own small
// integer scale (and min), which are in turn scaled by one or two f16 numbers per super-block.
//
// Dequantization follows the GGUF bit layout exactly. Quantization reproduces GGML's reference (non-imatrix)
// quantizers, quantize_row_q*_K_ref, so that a row quantized here has the bytes GGML would write:
//   - Q2_K, Q4_K, Q5_K fit each sub-block as scale * q - min with make_qkx2_quants: a start from the
//     sub-block's range, then nstep+1 stretched candidate scales, each refined by weighted least squares for
//     scale and min, kept when it lowers the weighted error (absolute error for Q2_K, squared for Q4_K/Q5_K;
//     weights |x| for Q2_K, rms(sub-block) + |x| for Q4_K/Q5_K);
//   - Q3_K fits symmetric sub-block scales with make_q3_quants (weights x^2, then up to 5 rounds of moving
//     single quants while that improves the fit); Q6_K with make_qx_quants (weights x^2, 18 candidate scales
//     around -nmax / max, least-squares scale for each);
//   - then the sub-block scales (and mins) are themselves quantized to 4/6/8 bits against the largest, and
//     every element is requantized against the scales exactly as they will be read back.
// Every rounding is GGML's nearest_int (round half to even) and the float expressions keep GGML's operand
// order, since a different rounding or order can flip a quant. This was written from our knowledge of those
// algorithms (no GGML source was at hand); where it could differ is noted at the spot. Two known, deliberate
// differences: blocks whose bytes GGML leaves unset (Q8_K bsums of an all-zero block) are zeroed here, and a
// NaN input cannot trigger undefined behaviour here (GGML's float-to-int8 casts would).
#include "backends/cpu/quant/quantize_impl.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/half.hpp"

namespace nd::backends::cpu::quant::detail {

namespace {

using core::f16_to_f32;
using core::f32_to_f16;

// GGML's smallest group maximum treated as non-zero.
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, for |v| < 2^22 (GGML's nearest_int): adding 1.5 * 2^23 leaves the integer
// in the low mantissa bits. Unlike a cast, garbage in (NaN, huge) is garbage out, never undefined behaviour.
int nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    return static_cast<int>(std::bit_cast<std::uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

// GGML's make_qkx2_quants: x ≈ scale * L - the_min with L in [0, nmax] and the_min >= 0, minimising the
// weighted error (absolute with use_mad, squared otherwise). Returns the scale.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* the_min,
                       std::uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0];
    float max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) {
            min = x[i];
        }
        if (x[i] > max) {
            max = x[i];
        }
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) {
        min = 0;
    }
    if (max == min) {
        for (int i = 0; i < n; ++i) {
            L[i] = 0;
        }
        *the_min = -min;
        return 0.0f;
    }
    float iscale = static_cast<float>(nmax) / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
        float diff = scale * static_cast<float>(L[i]) + min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
        float sum_l = 0;
        float sum_l2 = 0;
        float sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            l = std::max(0, std::min(nmax, l));
            Laux[i] = static_cast<std::uint8_t>(l);
            const float w = weights[i];
            const auto lf = static_cast<float>(l);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float error = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
                diff = use_mad ? std::fabs(diff) : diff * diff;
                error += weights[i] * diff;
            }
            if (error < best_error) {
                for (int i = 0; i < n; ++i) {
                    L[i] = Laux[i];
                }
                best_error = error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// GGML's make_q3_quants with do_rmse: x ≈ scale * (L - nmax), L - nmax in [-nmax, nmax - 1], weights x^2.
// Returns the (signed) scale; L gets the quants plus nmax.
float make_q3_quants(int n, int nmax, const float* x, std::int8_t* L) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) { // all zero (older GGML tested amax == 0: differs only below 1e-15)
        for (int i = 0; i < n; ++i) {
            L[i] = 0;
        }
        return 0.0f;
    }
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<std::int8_t>(l);
        const float w = x[i] * x[i];
        const auto lf = static_cast<float>(l);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            const auto li = static_cast<float>(L[i]);
            float slx = sumlx - w * x[i] * li;
            if (slx > 0) {
                float sl2 = suml2 - w * li * li;
                int new_l = nearest_int(x[i] * sl2 / slx);
                new_l = std::max(-nmax, std::min(nmax - 1, new_l));
                if (new_l != L[i]) {
                    const auto nf = static_cast<float>(new_l);
                    slx += w * x[i] * nf;
                    sl2 += w * nf * nf;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<std::int8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (n_changed == 0) {
            break;
        }
    }
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<std::int8_t>(L[i] + nmax);
    }
    return sumlx / suml2;
}

// GGML's make_qx_quants with rmse_type 1 and no importance weights: x ≈ scale * (L - nmax), weights x^2,
// the best of 18 candidate scales around -nmax / max by least squares. Returns the (signed) scale.
float make_qx_quants(int n, int nmax, const float* x, std::int8_t* L) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) {
            L[i] = 0;
        }
        return 0.0f;
    }
    float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<std::int8_t>(l + nmax);
        const float w = x[i] * x[i];
        const auto lf = static_cast<float>(l);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) {
            continue;
        }
        iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
        sumlx = 0;
        suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            const float w = x[i] * x[i];
            const auto lf = static_cast<float>(l);
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// The 12 packed bytes of Q4_K/Q5_K from eight 6-bit scales and mins (layout: blocks.hpp).
void pack_scale_min_k4(const std::uint8_t* ls, const std::uint8_t* lm, std::uint8_t* packed) {
    std::memset(packed, 0, kScaleBytes);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            packed[j] = ls[j];
            packed[j + 4] = lm[j];
        } else {
            packed[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            packed[j - 4] = static_cast<std::uint8_t>(packed[j - 4] | ((ls[j] >> 4) << 6));
            packed[j] = static_cast<std::uint8_t>(packed[j] | ((lm[j] >> 4) << 6));
        }
    }
}

// The part of Q4_K and Q5_K before their bit packing: d, dmin, packed scales, and the quants L in [0, nmax].
void quantize_k4_style(const float* x, int nmax, float rmin, int nstep, std::uint16_t& d_bits,
                       std::uint16_t& dmin_bits, std::uint8_t* packed_scales, std::uint8_t* L) {
    float scales[8];
    float mins[8];
    float weights[32];
    std::uint8_t Laux[32];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < 8; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) {
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        }
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) {
            weights[l] = av_x + std::fabs(x[32 * j + l]);
        }
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep,
                                     false);
        if (scales[j] > max_scale) {
            max_scale = scales[j];
        }
        if (mins[j] > max_min) {
            max_min = mins[j];
        }
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    std::uint8_t ls[8];
    std::uint8_t lm[8];
    for (int j = 0; j < 8; ++j) {
        // GGML stores nearest_int's result in a uint8_t before MIN(63, .): a negative value would wrap; kept.
        ls[j] = std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j])));
        lm[j] = std::min<std::uint8_t>(63, static_cast<std::uint8_t>(nearest_int(inv_min * mins[j])));
    }
    pack_scale_min_k4(ls, lm, packed_scales);
    d_bits = f32_to_f16(max_scale / 63.0f);
    dmin_bits = f32_to_f16(max_min / 63.0f);
    for (int j = 0; j < 8; ++j) {
        std::uint8_t sc = 0;
        std::uint8_t m = 0;
        unpack_scale_min_k4(j, packed_scales, sc, m);
        const float d = f16_to_f32(d_bits) * static_cast<float>(sc);
        if (d == 0.0f) {
            continue; // keeps make_qkx2_quants' quants, as GGML does
        }
        const float dm = f16_to_f32(dmin_bits) * static_cast<float>(m);
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
        }
    }
}

} // namespace

void quantize_q4_k(const float* x, BlockQ4_K& b) {
    std::uint8_t L[kSuper];
    quantize_k4_style(x, 15, -1.0f, 20, b.d, b.dmin, b.scales, L);
    for (int j = 0; j < kSuper; j += 64) {
        for (int l = 0; l < 32; ++l) {
            b.qs[j / 2 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 4));
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
    std::uint8_t L[kSuper];
    quantize_k4_style(x, 31, -0.5f, 15, b.d, b.dmin, b.scales, L);
    std::memset(b.qh, 0, sizeof(b.qh));
    std::uint8_t m1 = 1;
    std::uint8_t m2 = 2;
    std::uint8_t* ql = b.qs;
    for (int n = 0; n < kSuper; n += 64, ql += 32) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                b.qh[j] = static_cast<std::uint8_t>(b.qh[j] | m1);
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                b.qh[j] = static_cast<std::uint8_t>(b.qh[j] | m2);
            }
            ql[j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
        }
        m1 = static_cast<std::uint8_t>(m1 << 2);
        m2 = static_cast<std::uint8_t>(m2 << 2);
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
    std::uint8_t L[kSuper];
    std::uint8_t Laux[16];
    float weights[16];
    float mins[16];
    float scales[16];
    const float q4scale = 15.0f;
    float max_scale = 0; // the min is taken out, so scales are never negative
    float max_min = 0;
    for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) {
            weights[l] = std::fabs(x[16 * j + l]);
        }
        scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) {
            max_scale = scales[j];
        }
        if (mins[j] > max_min) {
            max_min = mins[j];
        }
    }
    if (max_scale > 0) {
        const float iscale = q4scale / max_scale;
        for (int j = 0; j < 16; ++j) {
            // No clamp in GGML either: iscale * scales[j] <= 15 (+ rounding) by construction.
            b.scales[j] = static_cast<std::uint8_t>(nearest_int(iscale * scales[j]));
        }
        b.d = f32_to_f16(max_scale / q4scale);
    } else {
        std::memset(b.scales, 0, sizeof(b.scales));
        b.d = f32_to_f16(0.0f);
    }
    if (max_min > 0) {
        const float iscale = q4scale / max_min;
        for (int j = 0; j < 16; ++j) {
            const int l = nearest_int(iscale * mins[j]);
            b.scales[j] = static_cast<std::uint8_t>(b.scales[j] | (l << 4));
        }
        b.dmin = f32_to_f16(max_min / q4scale);
    } else {
        b.dmin = f32_to_f16(0.0f);
    }
    for (int j = 0; j < 16; ++j) {
        const float d = f16_to_f32(b.d) * static_cast<float>(b.scales[j] & 0xF);
        if (d == 0.0f) {
            continue;
        }
        const float dm = f16_to_f32(b.dmin) * static_cast<float>(b.scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int((x[16 * j + ii] + dm) / d);
            L[16 * j + ii] = static_cast<std::uint8_t>(std::max(0, std::min(3, l)));
        }
    }
    // Each byte of a 32-byte group holds four elements 32 apart, lowest bits first.
    for (int j = 0; j < kSuper; j += 128) {
        for (int l = 0; l < 32; ++l) {
            b.qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                                        (L[j + l + 96] << 6));
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

int unpack_scale_q3(const std::uint8_t* packed, int j) {
    const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

} // namespace

void quantize_q3_k(const float* x, BlockQ3_K& b) {
    std::int8_t L[kSuper];
    float scales[16];
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < 16; ++j) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        const float scale = std::fabs(scales[j]);
        if (scale > amax) {
            amax = scale;
            max_scale = scales[j];
        }
    }
    std::memset(b.scales, 0, sizeof(b.scales));
    if (max_scale != 0.0f) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; ++j) {
            int l = nearest_int(iscale * scales[j]);
            l = std::max(-32, std::min(31, l)) + 32;
            if (j < 8) {
                b.scales[j] = static_cast<std::uint8_t>(l & 0xF);
            } else {
                b.scales[j - 8] = static_cast<std::uint8_t>(b.scales[j - 8] | ((l & 0xF) << 4));
            }
            l >>= 4;
            b.scales[j % 4 + 8] = static_cast<std::uint8_t>(b.scales[j % 4 + 8] | (l << (2 * (j / 4))));
        }
        b.d = f32_to_f16(1 / iscale);
    } else {
        b.d = f32_to_f16(0.0f);
    }
    for (int j = 0; j < 16; ++j) {
        const float d = f16_to_f32(b.d) * static_cast<float>(unpack_scale_q3(b.scales, j));
        if (d == 0.0f) {
            continue; // keeps make_q3_quants' quants
        }
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = static_cast<std::int8_t>(std::max(-4, std::min(3, l)) + 4);
        }
    }
    // The third bit of element j goes to bit j / 32 of hmask[j % 32], the low two bits to qs.
    std::memset(b.hmask, 0, sizeof(b.hmask));
    int m = 0;
    std::uint8_t hm = 1;
    for (int j = 0; j < kSuper; ++j) {
        if (L[j] > 3) {
            b.hmask[m] = static_cast<std::uint8_t>(b.hmask[m] | hm);
            L[j] = static_cast<std::int8_t>(L[j] - 4);
        }
        if (++m == kSuper / 8) {
            m = 0;
            hm = static_cast<std::uint8_t>(hm << 1);
        }
    }
    for (int j = 0; j < kSuper; j += 128) {
        for (int l = 0; l < 32; ++l) {
            b.qs[j / 4 + l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                                        (L[j + l + 96] << 6));
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
    std::int8_t L[kSuper];
    float scales[16];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
        const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
        scales[ib] = scale;
        const float abs_scale = std::fabs(scale);
        if (abs_scale > max_abs_scale) {
            max_abs_scale = abs_scale;
            max_scale = scale;
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(&b, 0, sizeof(b));
        return;
    }
    const float iscale = -128.0f / max_scale;
    b.d = f32_to_f16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib) {
        b.scales[ib] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    }
    for (int j = 0; j < 16; ++j) {
        const float d = f16_to_f32(b.d) * static_cast<float>(b.scales[j]);
        if (d == 0.0f) {
            continue; // keeps make_qx_quants' quants
        }
        for (int ii = 0; ii < 16; ++ii) {
            const int l = nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = static_cast<std::int8_t>(std::max(-32, std::min(31, l)) + 32);
        }
    }
    std::uint8_t* ql = b.ql;
    std::uint8_t* qh = b.qh;
    for (int j = 0; j < kSuper; j += 128, ql += 64, qh += 32) {
        for (int l = 0; l < 32; ++l) {
            const int q1 = L[j + l] & 0xF;
            const int q2 = L[j + l + 32] & 0xF;
            const int q3 = L[j + l + 64] & 0xF;
            const int q4 = L[j + l + 96] & 0xF;
            ql[l] = static_cast<std::uint8_t>(q1 | (q3 << 4));
            ql[l + 32] = static_cast<std::uint8_t>(q2 | (q4 << 4));
            qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                              ((L[j + l + 96] >> 4) << 6));
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
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kSuper; ++j) {
        const float ax = std::fabs(x[j]);
        if (ax > amax) {
            amax = ax;
            max = x[j];
        }
    }
    if (amax == 0.0f) {
        std::memset(&b, 0, sizeof(b)); // GGML zeroes d and qs and leaves bsums as they were
        return;
    }
    // -127 as current GGML (older versions used -128 / max, which can give +128 and was clamped to 127).
    const float iscale = -127.0f / max;
    for (int j = 0; j < kSuper; ++j) {
        b.qs[j] = static_cast<std::int8_t>(std::min(127, nearest_int(iscale * x[j])));
    }
    for (int j = 0; j < kSuper / 16; ++j) {
        int sum = 0;
        for (int ii = 0; ii < 16; ++ii) {
            sum += b.qs[j * 16 + ii];
        }
        b.bsums[j] = static_cast<std::int16_t>(sum);
    }
    b.d = 1 / iscale;
}

void dequantize_q8_k(const BlockQ8_K& b, float* y) {
    for (int i = 0; i < kSuper; ++i) {
        y[i] = b.d * static_cast<float>(b.qs[i]);
    }
}

} // namespace nd::backends::cpu::quant::detail
