// The AVX2 float GEMM pieces. Compiled with the AVX2 flags (-mavx2 -mfma -mf16c, see native/CMakeLists.txt);
// called only when the CPU has them.
//
// Tile: MR = 6 rows x NR = 16 columns (two ymm per row): 12 accumulators + 2 panel vectors + 1 broadcast = 15
// of the 16 registers. Per k, 2 panel loads and 6 broadcasts feed 12 FMAs; 12 independent chains cover the
// FMA latency (4-5 cycles) times its throughput (2 per cycle). 16 divides every N of SD's layers.
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "backends/cpu/gemm/kernels.hpp"

namespace nd::backends::cpu::gemm {

namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

// Lanes [0, count) set, for maskload/maskstore.
__m256i first_lanes(int count) noexcept {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ---------------------------------------------------------------------------------------------- microkernel

// 8 panel elements of type P from p as F32 (16-byte aligned for 16-bit panels).
template <nd_dtype P>
[[gnu::always_inline]] inline __m256 load_panel(const void* p) noexcept {
    if constexpr (P == ND_DTYPE_F32) {
        return _mm256_load_ps(static_cast<const float*>(p));
    } else {
        const __m128i h = _mm_load_si128(static_cast<const __m128i*>(p));
        if constexpr (P == ND_DTYPE_F16) {
            return _mm256_cvtph_ps(h);
        } else {
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
    }
}

template <int R, nd_dtype P>
void tile(const TileArgs& t) {
    using Element = std::conditional_t<P == ND_DTYPE_F32, float, std::uint16_t>;
    __m256 acc[R][2];
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    const float* a = t.a;
    const auto* p = static_cast<const Element*>(t.panel);
    for (std::int64_t k = 0; k < t.kc; ++k, a += kMr, p += kNr) {
        const __m256 w0 = load_panel<P>(p);
        const __m256 w1 = load_panel<P>(p + 8);
#pragma GCC unroll 8
        for (int i = 0; i < R; ++i) {
            const __m256 x = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);
        }
    }

    const __m256i m0 = first_lanes(t.nr);
    const __m256i m1 = first_lanes(t.nr - 8);
    __m256 b0 = _mm256_setzero_ps();
    __m256 b1 = _mm256_setzero_ps();
    if (t.bias != nullptr) {
        b0 = _mm256_maskload_ps(t.bias, m0);
        b1 = _mm256_maskload_ps(t.bias + 8, m1);
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
        float* c = t.c + i * t.ldc;
        __m256 r0 = _mm256_add_ps(acc[i][0], b0);
        __m256 r1 = _mm256_add_ps(acc[i][1], b1);
        if (t.add_to_c) {
            r0 = _mm256_add_ps(r0, _mm256_maskload_ps(c, m0));
            r1 = _mm256_add_ps(r1, _mm256_maskload_ps(c + 8, m1));
        }
        _mm256_maskstore_ps(c, m0, r0);
        _mm256_maskstore_ps(c + 8, m1, r1);
    }
}

template <nd_dtype P, int... R>
void tile_rows(const TileArgs& t, std::integer_sequence<int, R...>) {
    using Fn = void (*)(const TileArgs&);
    static constexpr Fn table[] = {tile<R + 1, P>...};
    table[t.mr - 1](t);
}

void tile_any(const TileArgs& t) {
    switch (t.panel_type) {
    case ND_DTYPE_F16: tile_rows<ND_DTYPE_F16>(t, std::make_integer_sequence<int, kMr>{}); break;
    case ND_DTYPE_BF16: tile_rows<ND_DTYPE_BF16>(t, std::make_integer_sequence<int, kMr>{}); break;
    default: tile_rows<ND_DTYPE_F32>(t, std::make_integer_sequence<int, kMr>{}); break;
    }
}

// ---------------------------------------------------------------------------------------------- packing

// r[i] = row i (8 lanes) -> r[j] = column j. Inlined with constant trip counts so that r stays in registers.
[[gnu::always_inline]] inline void transpose8(__m256 r[8]) noexcept {
    __m256 t[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + m]: in each 128-bit lane L, column 4L + m of rows 4g..4g+3.
    __m256 u[8];
#pragma GCC unroll 2
    for (int g = 0; g < 2; ++g) {
        const __m256d t0 = _mm256_castps_pd(t[4 * g]);
        const __m256d t1 = _mm256_castps_pd(t[4 * g + 1]);
        const __m256d t2 = _mm256_castps_pd(t[4 * g + 2]);
        const __m256d t3 = _mm256_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) {
        r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
        r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
}

// 8 consecutive elements of a weight row from element k0 as F32 (all 8 must exist).
template <nd_dtype T>
[[gnu::always_inline]] inline __m256 load8(const std::byte* row, std::int64_t k0) noexcept {
    if constexpr (T == ND_DTYPE_F32) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k0);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const std::uint16_t*>(row) + k0));
        if constexpr (T == ND_DTYPE_F16) {
            return _mm256_cvtph_ps(h);
        } else {
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
    }
}

// The same for the last count (< 8) elements of a row, through a zero-padded copy (no masked 16-bit loads in
// AVX2).
template <nd_dtype T>
__m256 load_tail(const std::byte* row, std::int64_t k0, int count) noexcept {
    constexpr std::size_t size = T == ND_DTYPE_F32 ? 4 : 2;
    alignas(32) std::byte buffer[8 * 4] = {};
    std::memcpy(buffer, row + k0 * static_cast<std::int64_t>(size), static_cast<std::size_t>(count) * size);
    return load8<T>(buffer, 0);
}

// Stores 8 panel values (read from weights of type T, so exact in T) as Out: F32, or T's own 16 bits.
template <nd_dtype T, typename Out>
[[gnu::always_inline]] inline void store_panel(Out* out, __m256 v) noexcept {
    if constexpr (std::is_same_v<Out, float>) {
        _mm256_store_ps(out, v);
    } else if constexpr (T == ND_DTYPE_F16) {
        _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else { // the top halves, packed (values < 2^16, so the unsigned saturation changes nothing)
        const __m256i top = _mm256_srli_epi32(_mm256_castps_si256(v), 16);
        _mm_store_si128(reinterpret_cast<__m128i*>(out),
                        _mm_packus_epi32(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1)));
    }
}

template <nd_dtype T, typename Out>
void pack_panel_t(const std::byte* w, std::int64_t w_row_stride, int rows, std::int64_t k, Out* panel) {
    for (int g = 0; g < kNr / 8; ++g) {
        const int group_rows = rows - 8 * g < 0 ? 0 : rows - 8 * g > 8 ? 8 : rows - 8 * g;
        Out* out = panel + 8 * g;
        if (group_rows == 0) {
            for (std::int64_t kk = 0; kk < k; ++kk) {
                store_panel<T>(out + kk * kNr, _mm256_setzero_ps());
            }
            continue;
        }
        const std::byte* first = w + 8 * g * w_row_stride;
        std::int64_t k0 = 0;
        if (group_rows == 8) { // the common whole block, straight-line
            for (; k0 + 8 <= k; k0 += 8) {
                __m256 r[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; ++i) {
                    r[i] = load8<T>(first + i * w_row_stride, k0);
                }
                transpose8(r);
#pragma GCC unroll 8
                for (int j = 0; j < 8; ++j) {
                    store_panel<T>(out + (k0 + j) * kNr, r[j]);
                }
            }
        }
        for (; k0 < k; k0 += 8) {
            const int count = k - k0 < 8 ? static_cast<int>(k - k0) : 8;
            __m256 r[8];
            for (int i = 0; i < 8; ++i) {
                if (i >= group_rows) {
                    r[i] = _mm256_setzero_ps();
                } else if (count == 8) {
                    r[i] = load8<T>(first + i * w_row_stride, k0);
                } else {
                    r[i] = load_tail<T>(first + i * w_row_stride, k0, count);
                }
            }
            transpose8(r);
            for (int j = 0; j < count; ++j) {
                store_panel<T>(out + (k0 + j) * kNr, r[j]);
            }
        }
    }
}

void pack_panel(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                float* panel) {
    switch (w_type) {
    case ND_DTYPE_F16: pack_panel_t<ND_DTYPE_F16>(w, w_row_stride, rows, k, panel); break;
    case ND_DTYPE_BF16: pack_panel_t<ND_DTYPE_BF16>(w, w_row_stride, rows, k, panel); break;
    default: pack_panel_t<ND_DTYPE_F32>(w, w_row_stride, rows, k, panel); break;
    }
}

void pack_panel_16(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                   std::uint16_t* panel) {
    if (w_type == ND_DTYPE_F16) {
        pack_panel_t<ND_DTYPE_F16>(w, w_row_stride, rows, k, panel);
    } else {
        pack_panel_t<ND_DTYPE_BF16>(w, w_row_stride, rows, k, panel);
    }
}

// Whole micro-panels (6 rows, 8 k at a time) go through the 8x8 transpose with rows 6 and 7 zero; each k's
// column is an 8-float store 6 floats after the previous one, overwriting its 2 spare lanes (the last spills
// into the next micro-panel, written later, or the kPackSlack floats after the block). Edges are copied
// element by element.
void pack_a(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t kc, float* out) {
    for (std::int64_t i0 = 0; i0 < rows; i0 += kMr, out += kMr * kc) {
        const int mr = rows - i0 < kMr ? static_cast<int>(rows - i0) : kMr;
        const float* first = a + i0 * lda;
        std::int64_t k0 = 0;
        if (mr == kMr) {
            for (; k0 + 8 <= kc; k0 += 8) {
                __m256 r[8];
#pragma GCC unroll 8
                for (int i = 0; i < 8; ++i) {
                    r[i] = i < kMr ? _mm256_loadu_ps(first + i * lda + k0) : _mm256_setzero_ps();
                }
                transpose8(r);
#pragma GCC unroll 8
                for (int j = 0; j < 8; ++j) {
                    _mm256_storeu_ps(out + (k0 + j) * kMr, r[j]);
                }
            }
        }
        for (int i = 0; i < mr; ++i) {
            const float* row = first + i * lda;
            for (std::int64_t k = k0; k < kc; ++k) {
                out[k * kMr + i] = row[k];
            }
        }
    }
}

} // namespace

const FloatKernel& float_kernel_avx2() noexcept {
    static constexpr FloatKernel kernel{kMr, kNr, pack_panel, pack_panel_16, pack_a, tile_any};
    return kernel;
}

} // namespace nd::backends::cpu::gemm
