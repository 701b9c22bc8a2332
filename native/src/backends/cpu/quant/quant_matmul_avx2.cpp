// The AVX2 variant of the quantized matmul: activation quantization and the products (the weight packing is
// in weight_panels_avx2.cpp). Compiled with the AVX2 flags (native/CMakeLists.txt); called on CPUs with
// AVX2 + FMA + F16C, and on AVX-512 CPUs without VNNI.
//
// Register tile: 4 rows of C x 8 columns (one ymm). AVX2 has no VPDPBUSD; VPMADDUBSW multiplies unsigned by
// signed bytes and adds pairs into int16 with saturation, VPMADDWD by ones then adds pairs of those into
// int32. Saturation is what shapes the formats:
//   - levels of at most 63 (every type but Q8_0/Q8_K, offset included) times |q| <= 127: a pair is at most
//     16002, so the int16 results of two steps (8 k) can be added before widening, halving the VPMADDWDs;
//   - Q8_0/Q8_K keep signed levels (avx2_format gives offset 0) and use the sign trick: |level| (<= 128)
//     times q with the level's sign moved onto it (VPSIGNB), at most 2 * 128 * 127 = 32512 per pair.
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"

namespace nd::backends::cpu::quant::kernels {

namespace {

constexpr int kWidth = 8;
constexpr int kRows = 4;

// ---------------------------------------------------------------- activations

float reduce_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

int reduce_add(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// One group of G floats at x: writes G int8 to q and returns the scale; `sum` gets sum(q).
template <int G>
float quantize_group(const float* x, std::int8_t* q, int& sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[G / 8];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < G / 8; ++i) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
    }
    const float d = reduce_max(amax) / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m256i qi[G / 8];
    __m256i total = _mm256_setzero_si256();
    for (int i = 0; i < G / 8; ++i) {
        // |x * id| <= 127 (plus rounding) for finite x: the saturating packs below never clip a real value.
        qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], id)); // round to nearest even
        total = _mm256_add_epi32(total, qi[i]);
    }
    // Narrow 8 x int32 at a time: the packs work within 128-bit halves, the permute puts the dwords in order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < G / 8; i += 4) {
        const __m256i w01 = _mm256_packs_epi32(qi[i], qi[i + 1]);
        const __m256i w23 = _mm256_packs_epi32(qi[i + 2 < G / 8 ? i + 2 : i], qi[i + 3 < G / 8 ? i + 3 : i + 1]);
        const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
        if (i + 4 <= G / 8) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 8 * i), bytes);
        } else { // G = 16: only the first 16 bytes are this group's
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 8 * i), _mm256_castsi256_si128(bytes));
        }
    }
    sum = reduce_add(total);
    return d;
}

template <int G>
void quantize_rows_g(const float* a, std::int64_t lda, const LevelFormat& format, std::int64_t row_begin,
                     std::int64_t row_end, const QuantizedRows& out) {
    for (std::int64_t r = row_begin; r < row_end; ++r) {
        const float* x = a + r * lda;
        std::int8_t* q = out.q + r * out.stride;
        for (std::int64_t g = 0; g < out.groups; ++g) {
            int sum = 0;
            const float d = quantize_group<G>(x + g * G, q + g * G, sum);
            const std::int64_t at = r * out.groups + g;
            out.scale[at] = d;
            if (out.correction != nullptr) {
                out.correction[at] = -format.offset * sum;
            }
            if (out.sum != nullptr) {
                out.sum[at] = d * static_cast<float>(sum);
            }
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
    const std::int8_t* a;
    std::int64_t a_stride;
    const float* a_scale;
    const std::int32_t* a_correction;
    const float* a_sum;
    std::int64_t groups;
    const std::uint8_t* levels;
    const float* w_scale;
    const float* w_min;
    float* c;
    std::int64_t ldc;
    int cols; // 1..8
    const float* bias;
    bool accumulate;
};

std::int32_t load_i32(const std::int8_t* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

enum class Mode {
    Offset, // unsigned levels, offset taken out by the activation correction
    Min,    // unsigned levels, min term
    Signed, // signed levels (Q8_0, Q8_K), sign trick
};

template <int MR, int G, Mode MODE>
void tile(const TileArgs& t) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MR];
    for (int r = 0; r < MR; ++r) {
        acc[r] = _mm256_setzero_ps();
    }
    const std::uint8_t* levels = t.levels;
    for (std::int64_t g = 0; g < t.groups; ++g, levels += G * kWidth) {
        __m256i dot[MR];
        for (int r = 0; r < MR; ++r) {
            dot[r] = MODE == Mode::Offset ? _mm256_set1_epi32(t.a_correction[r * t.groups + g])
                                          : _mm256_setzero_si256();
        }
        const std::int8_t* a = t.a + g * G;
        if constexpr (MODE == Mode::Signed) {
            for (int s = 0; s < G / 4; ++s) {
                const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(levels + s * 4 * kWidth));
                const __m256i w_abs = _mm256_abs_epi8(w);
                for (int r = 0; r < MR; ++r) {
                    const __m256i x = _mm256_sign_epi8(_mm256_set1_epi32(load_i32(a + r * t.a_stride + 4 * s)), w);
                    dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(_mm256_maddubs_epi16(w_abs, x), ones));
                }
            }
        } else {
            for (int s = 0; s < G / 4; s += 2) {
                const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(levels + s * 4 * kWidth));
                const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(levels + (s + 1) * 4 * kWidth));
                for (int r = 0; r < MR; ++r) {
                    const std::int8_t* ar = a + r * t.a_stride + 4 * s;
                    const __m256i p0 = _mm256_maddubs_epi16(w0, _mm256_set1_epi32(load_i32(ar)));
                    const __m256i p1 = _mm256_maddubs_epi16(w1, _mm256_set1_epi32(load_i32(ar + 4)));
                    dot[r] = _mm256_add_epi32(dot[r], _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones));
                }
            }
        }
        const __m256 w_scale = _mm256_loadu_ps(t.w_scale + g * kWidth);
        for (int r = 0; r < MR; ++r) {
            const __m256 product = _mm256_mul_ps(_mm256_cvtepi32_ps(dot[r]), _mm256_set1_ps(t.a_scale[r * t.groups + g]));
            acc[r] = _mm256_fmadd_ps(product, w_scale, acc[r]);
        }
        if constexpr (MODE == Mode::Min) {
            const __m256 w_min = _mm256_loadu_ps(t.w_min + g * kWidth);
            for (int r = 0; r < MR; ++r) {
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(t.a_sum[r * t.groups + g]), w_min, acc[r]);
            }
        }
    }
    // Write back: + bias, + C when accumulating; a partial right edge goes through a small buffer.
    float bias[kWidth] = {};
    if (t.bias != nullptr) {
        std::memcpy(bias, t.bias, static_cast<std::size_t>(t.cols) * sizeof(float));
    }
    const __m256 b = _mm256_loadu_ps(bias);
    for (int r = 0; r < MR; ++r) {
        float* c = t.c + r * t.ldc;
        float old[kWidth] = {};
        float result[kWidth];
        if (t.accumulate) {
            std::memcpy(old, c, static_cast<std::size_t>(t.cols) * sizeof(float));
        }
        __m256 v = _mm256_add_ps(acc[r], b);
        if (t.accumulate) {
            v = _mm256_add_ps(_mm256_loadu_ps(old), v);
        }
        if (t.cols == kWidth) {
            _mm256_storeu_ps(c, v);
        } else {
            _mm256_storeu_ps(result, v);
            std::memcpy(c, result, static_cast<std::size_t>(t.cols) * sizeof(float));
        }
    }
}

using TileFn = void (*)(const TileArgs&);

template <int G, Mode MODE>
TileFn tile_for(int rows) {
    switch (rows) {
    case 4: return tile<4, G, MODE>;
    case 3: return tile<3, G, MODE>;
    case 2: return tile<2, G, MODE>;
    default: return tile<1, G, MODE>;
    }
}

template <int G>
TileFn tile_for(Mode mode, int rows) {
    switch (mode) {
    case Mode::Offset: return tile_for<G, Mode::Offset>(rows);
    case Mode::Min: return tile_for<G, Mode::Min>(rows);
    default: return tile_for<G, Mode::Signed>(rows);
    }
}

void multiply(const QuantizedRows& a, const PackedWeights& w, const LevelFormat& format, std::int64_t row_begin,
              std::int64_t row_end, std::int64_t panel_begin, std::int64_t panel_end, const Output& out) {
    const Mode mode = format.has_min ? Mode::Min : format.offset != 0 ? Mode::Offset : Mode::Signed;
    for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        const std::int64_t col = p * kWidth;
        TileArgs t{};
        t.a_stride = a.stride;
        t.groups = a.groups;
        t.levels = w.levels + p * w.k * kWidth;
        t.w_scale = w.scale + p * w.groups * kWidth;
        t.w_min = w.min != nullptr ? w.min + p * w.groups * kWidth : nullptr;
        t.ldc = out.ldc;
        t.cols = static_cast<int>(out.n - col < kWidth ? out.n - col : kWidth);
        t.bias = out.bias != nullptr ? out.bias + col : nullptr;
        t.accumulate = out.accumulate;
        for (std::int64_t r = row_begin; r < row_end; r += kRows) {
            const int rows = static_cast<int>(row_end - r < kRows ? row_end - r : kRows);
            t.a = a.q + r * a.stride;
            t.a_scale = a.scale + r * a.groups;
            t.a_correction = a.correction != nullptr ? a.correction + r * a.groups : nullptr;
            t.a_sum = a.sum != nullptr ? a.sum + r * a.groups : nullptr;
            t.c = out.c + r * out.ldc + col;
            const TileFn fn = format.group == 16 ? tile_for<16>(mode, rows) : tile_for<32>(mode, rows);
            fn(t);
        }
    }
}

constexpr Kernels kAvx2{kWidth, kRows, quantize_rows, pack_panels_avx2, multiply};

} // namespace

const Kernels& avx2_kernels() noexcept {
    return kAvx2;
}

LevelFormat avx2_format(nd_dtype type) noexcept {
    LevelFormat format = level_format(type);
    if (type == ND_DTYPE_Q8_0 || type == ND_DTYPE_Q8_K) {
        format.offset = 0; // signed levels and the sign trick: offset levels up to 255 would saturate maddubs
    }
    return format;
}

} // namespace nd::backends::cpu::quant::kernels
