// The AVX-512 VNNI variant of the quantized matmul: activation quantization and the products (the weight
// packing is in weight_panels_avx512.cpp). Compiled with the AVX-512 flags (native/CMakeLists.txt);
// matmul_quantized() calls it only on CPUs with AVX-512 F/BW/VL and VNNI.
//
// Register tile: 6 rows of C x 32 columns (two zmm of 16 columns). For each group of 16 or 32 k:
//   - 12 int32 accumulators start at the activation correction (-offset * sum(q), or 0 for min formats);
//   - for every 4 k, two 64-byte panel loads (32 columns x 4 unsigned levels) and, per row, one broadcast of
//     the row's 4 int8 activations; VPDPBUSD multiplies the 4 byte pairs of every lane and adds them in;
//   - then each accumulator is converted to float, scaled by the row's activation scale and added to the
//     float accumulator with the columns' weight scales (one FMA), plus the min term for min formats.
// So a 32-k group costs 96 VPDPBUSD (6144 multiply-adds) and 36 float instructions for the scales: at two
// of either per cycle, ~80% of the VPDPBUSD peak at best (about 65-75% measured on Zen 5).

// GCC 12 reports "may be used uninitialized" inside many AVX-512 intrinsics (their pass-through operand is a
// deliberately undefined vector; GCC bug 105593, fixed in GCC 13). The pragma must precede the header, where
// the warnings are located.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"

namespace nd::backends::cpu::quant::kernels {

namespace {

constexpr int kWidth = 32; // panel columns: two zmm
constexpr int kRows = 6;   // rows per register tile: 12 int + 12 float accumulators, 2 panel vectors

// ---------------------------------------------------------------- activations
//
// A row is quantized 16 groups at a time so that the horizontal max and sum of the 16 groups are done together
// (reduce16: 4 stages of shuffle + op for all 16, instead of 4 per group); the rest is per group: scale,
// convert with round-to-nearest-even, narrow with saturation, store. Same numbers as the scalar variant: d is
// max|x| / 127 and q = nearest_even(x * (1 / d)) in float in both.

// Lane g of the result = OP over the 16 lanes of v[g], for 16 vectors. Stage by stage (c = 128-bit chunk):
// pairs of vectors fold their upper against their lower chunks, then their chunk pairs, then lanes within
// chunks; after the last stage lane 4c + j holds vector 4j + c, which the final permute puts in place.
template <typename Op>
__m512 reduce16(__m512* v, Op op) {
    for (int i = 0; i < 8; ++i) { // -> chunk 0-1: v[2i] folded in halves, chunk 2-3: v[2i+1]
        v[i] = op(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44), _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    }
    for (int i = 0; i < 4; ++i) { // -> chunk c: vector 4i + c, 4 lanes left
        v[i] = op(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x88), _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xDD));
    }
    for (int i = 0; i < 2; ++i) { // -> in chunk c: lanes 0-1 vector 8i + c, lanes 2-3 vector 8i + 4 + c
        v[i] = op(_mm512_shuffle_ps(v[2 * i], v[2 * i + 1], 0x44), _mm512_shuffle_ps(v[2 * i], v[2 * i + 1], 0xEE));
    }
    const __m512 r = op(_mm512_shuffle_ps(v[0], v[1], 0x88), _mm512_shuffle_ps(v[0], v[1], 0xDD));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, r);
}

// Quantizes `count` (1..16) consecutive groups of G floats at x into q; writes their scales, and their
// corrections or sums.
template <int G>
void quantize_groups(const float* x, std::int8_t* q, int count, int offset, float* scale, std::int32_t* correction,
                     float* sum) {
    constexpr int kVectors = G / 16;
    const __mmask16 valid = static_cast<__mmask16>((1u << count) - 1u);
    __m512 v[16];
    for (int g = 0; g < 16; ++g) {
        v[g] = _mm512_setzero_ps();
        if (g < count) {
            for (int i = 0; i < kVectors; ++i) {
                v[g] = _mm512_max_ps(v[g], _mm512_abs_ps(_mm512_loadu_ps(x + g * G + 16 * i)));
            }
        }
    }
    const __m512 amax = reduce16(v, [](__m512 a, __m512 b) { return _mm512_max_ps(a, b); });
    const __m512 d = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
    const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ), _mm512_set1_ps(1.0f), d);
    alignas(64) float ids[16];
    _mm512_store_ps(ids, id);
    __m512 sums[16];
    for (int g = 0; g < 16; ++g) {
        __m512i total = _mm512_setzero_si512();
        if (g < count) {
            const __m512 idg = _mm512_set1_ps(ids[g]);
            for (int i = 0; i < kVectors; ++i) {
                // |x * id| <= 127 (plus rounding) for finite x, so the saturating narrowing never clips a real value.
                const __m512i qi = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + g * G + 16 * i), idg));
                total = _mm512_add_epi32(total, qi);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * G + 16 * i), _mm512_cvtsepi32_epi8(qi));
            }
        }
        sums[g] = _mm512_castsi512_ps(total);
    }
    const __m512i s = _mm512_castps_si512(reduce16(sums, [](__m512 a, __m512 b) {
        return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
    }));
    _mm512_mask_storeu_ps(scale, valid, d);
    if (correction != nullptr) {
        _mm512_mask_storeu_epi32(correction, valid, _mm512_mullo_epi32(s, _mm512_set1_epi32(-offset)));
    }
    if (sum != nullptr) {
        _mm512_mask_storeu_ps(sum, valid, _mm512_mul_ps(d, _mm512_cvtepi32_ps(s)));
    }
}

template <int G>
void quantize_rows_g(const float* a, std::int64_t lda, const LevelFormat& format, std::int64_t row_begin,
                     std::int64_t row_end, const QuantizedRows& out) {
    for (std::int64_t r = row_begin; r < row_end; ++r) {
        for (std::int64_t g = 0; g < out.groups; g += 16) {
            const int count = static_cast<int>(out.groups - g < 16 ? out.groups - g : 16);
            const std::int64_t at = r * out.groups + g;
            quantize_groups<G>(a + r * lda + g * G, out.q + r * out.stride + g * G, count, format.offset,
                               out.scale + at, out.correction != nullptr ? out.correction + at : nullptr,
                               out.sum != nullptr ? out.sum + at : nullptr);
        }
    }
}

void quantize_rows(const float* a, std::int64_t lda, std::int64_t, const LevelFormat& format,
                   std::int64_t row_begin, std::int64_t row_end, const QuantizedRows& out) {
    if (format.group == 16) {
        quantize_rows_g<16>(a, lda, format, row_begin, row_end, out);
    } else {
        quantize_rows_g<32>(a, lda, format, row_begin, row_end, out);
    }
}

// ---------------------------------------------------------------- products

struct TileArgs {
    const std::int8_t* a;       // first row's quantized activations
    std::int64_t a_stride;
    const float* a_scale;       // first row's group scales; rows `groups` apart, as the next two
    const std::int32_t* a_correction;
    const float* a_sum;
    std::int64_t groups;
    const std::uint8_t* levels; // the panel
    const float* w_scale;
    const float* w_min;
    float* c;                   // first row, first column of the tile
    std::int64_t ldc;
    int cols;                   // valid columns, 1..32
    const float* bias;          // the tile's first column's bias, or nullptr
    bool accumulate;
};

std::int32_t load_i32(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// MR rows x NP zmm of columns, groups of G, MIN: the format has a min term (else an offset correction).
template <int MR, int NP, int G, bool MIN>
void tile(const TileArgs& t) {
    __m512 acc[MR][NP];
    for (int r = 0; r < MR; ++r) {
        for (int j = 0; j < NP; ++j) {
            acc[r][j] = _mm512_setzero_ps();
        }
    }
    const std::uint8_t* levels = t.levels;
    for (std::int64_t g = 0; g < t.groups; ++g, levels += G * kWidth) {
        __m512i dot[MR][NP];
        for (int r = 0; r < MR; ++r) {
            const __m512i start = MIN ? _mm512_setzero_si512() : _mm512_set1_epi32(t.a_correction[r * t.groups + g]);
            for (int j = 0; j < NP; ++j) {
                dot[r][j] = start;
            }
        }
        const std::int8_t* a = t.a + g * G;
        for (int s = 0; s < G / 4; ++s) {
            __m512i w[NP];
            for (int j = 0; j < NP; ++j) {
                w[j] = _mm512_loadu_si512(levels + s * 4 * kWidth + 64 * j);
            }
            for (int r = 0; r < MR; ++r) {
                const __m512i x = _mm512_set1_epi32(load_i32(a + r * t.a_stride + 4 * s));
                for (int j = 0; j < NP; ++j) {
                    dot[r][j] = _mm512_dpbusd_epi32(dot[r][j], w[j], x);
                }
            }
        }
        for (int r = 0; r < MR; ++r) {
            const __m512 a_scale = _mm512_set1_ps(t.a_scale[r * t.groups + g]);
            for (int j = 0; j < NP; ++j) {
                const __m512 product = _mm512_mul_ps(_mm512_cvtepi32_ps(dot[r][j]), a_scale);
                acc[r][j] = _mm512_fmadd_ps(product, _mm512_loadu_ps(t.w_scale + g * kWidth + 16 * j), acc[r][j]);
            }
            if constexpr (MIN) {
                const __m512 a_sum = _mm512_set1_ps(t.a_sum[r * t.groups + g]);
                for (int j = 0; j < NP; ++j) {
                    acc[r][j] = _mm512_fmadd_ps(a_sum, _mm512_loadu_ps(t.w_min + g * kWidth + 16 * j), acc[r][j]);
                }
            }
        }
    }
    // Write back: + bias, + C when accumulating, masked at the right edge.
    __mmask16 mask[NP];
    __m512 bias[NP];
    for (int j = 0; j < NP; ++j) {
        const int valid = t.cols - 16 * j;
        mask[j] = valid >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1u);
        bias[j] = t.bias != nullptr ? _mm512_maskz_loadu_ps(mask[j], t.bias + 16 * j) : _mm512_setzero_ps();
    }
    for (int r = 0; r < MR; ++r) {
        float* c = t.c + r * t.ldc;
        for (int j = 0; j < NP; ++j) {
            __m512 v = _mm512_add_ps(acc[r][j], bias[j]);
            if (t.accumulate) {
                v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask[j], c + 16 * j), v);
            }
            _mm512_mask_storeu_ps(c + 16 * j, mask[j], v);
        }
    }
}

using TileFn = void (*)(const TileArgs&);

template <int G, bool MIN, int NP>
TileFn tile_for_rows(int rows) {
    switch (rows) {
    case 6: return tile<6, NP, G, MIN>;
    case 5: return tile<5, NP, G, MIN>;
    case 4: return tile<4, NP, G, MIN>;
    case 3: return tile<3, NP, G, MIN>;
    case 2: return tile<2, NP, G, MIN>;
    default: return tile<1, NP, G, MIN>;
    }
}

template <int G, bool MIN>
TileFn tile_for(int rows, int cols) {
    return cols > 16 ? tile_for_rows<G, MIN, 2>(rows) : tile_for_rows<G, MIN, 1>(rows);
}

void multiply(const QuantizedRows& a, const PackedWeights& w, const LevelFormat& format, std::int64_t row_begin,
              std::int64_t row_end, std::int64_t panel_begin, std::int64_t panel_end, const Output& out) {
    for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t col = p * kWidth;
        const int cols = static_cast<int>(out.n - col < kWidth ? out.n - col : kWidth);
        TileArgs t{};
        t.a_stride = a.stride;
        t.groups = a.groups;
        t.levels = w.levels + p * w.k * kWidth;
        t.w_scale = w.scale + p * w.groups * kWidth;
        t.w_min = w.min != nullptr ? w.min + p * w.groups * kWidth : nullptr;
        t.ldc = out.ldc;
        t.cols = cols;
        t.bias = out.bias != nullptr ? out.bias + col : nullptr;
        t.accumulate = out.accumulate;
        for (std::int64_t r = row_begin; r < row_end; r += kRows) {
            const int rows = static_cast<int>(row_end - r < kRows ? row_end - r : kRows);
            t.a = a.q + r * a.stride;
            t.a_scale = a.scale + r * a.groups;
            t.a_correction = a.correction != nullptr ? a.correction + r * a.groups : nullptr;
            t.a_sum = a.sum != nullptr ? a.sum + r * a.groups : nullptr;
            t.c = out.c + r * out.ldc + col;
            const TileFn fn = format.group == 16 ? (format.has_min ? tile_for<16, true>(rows, cols)
                                                                   : tile_for<16, false>(rows, cols))
                                                 : (format.has_min ? tile_for<32, true>(rows, cols)
                                                                   : tile_for<32, false>(rows, cols));
            fn(t);
        }
    }
}

constexpr Kernels kAvx512{kWidth, kRows, quantize_rows, pack_panels_avx512, multiply};

} // namespace

const Kernels& avx512_kernels() noexcept {
    return kAvx512;
}

LevelFormat avx512_format(nd_dtype type) noexcept {
    return level_format(type); // VPDPBUSD: unsigned levels x signed activations, no 16-bit saturation
}

} // namespace nd::backends::cpu::quant::kernels
