// The AVX-512 float GEMM pieces. Compiled with the AVX-512 flags (see native/CMakeLists.txt); called only when
// the CPU has AVX-512 F/BW/VL.
//
// Tile: MR = 14 rows x NR = 32 columns (two zmm per row). 28 zmm accumulators + 2 panel vectors + 1 broadcast
// = 31 of the 32 registers. Why this shape:
//  - Work per load. Per k the tile loads 2 panel vectors and broadcasts 14 floats of A for 28 FMAs (1.75 FMAs
//    per load, 6.6 per 64-byte line); 8x32 gives 16 FMAs for 10 loads (1.6), 6x64 24 for 10 (2.4) but reads
//    twice the panel bytes per k. Zen 4 issues one 512-bit FMA per cycle (two 256-bit pipes), Zen 5 two; both
//    sustain 2-3 loads per cycle, so all three are FMA-bound in L1, and what separates them is the traffic
//    from L2: 14x32 reads the fewest bytes per FMA there (184 per 28 against 160 per 16 and 280 per 24).
//  - Latency. An FMA takes 4 cycles and up to two issue per cycle: 8 independent chains hide it, 28 do so
//    with margin (only the 1-3 row remainder tiles of M don't).
//  - Fit to SD shapes. N is 320, 640, 1280, 2560, 5120 or 10240 at every linear and convolution layer of
//    SD 1.5/2.x/XL, all multiples of 32, so no panel is partial (48 would waste a third of a panel at 320).
//    M (tokens, pixels) is 4096, 1024, 256, 64 or 77/154 (text); 154 = 11 x 14, and the others leave one
//    short tile per row block.
//  - Measured on one Zen 5 core: the tile alone (operands in L1/L2, kc = 768) runs at 216-226 GFLOP/s of a
//    ~230 peak for 8x32, 6x64 and 14x32 alike; in the whole GEMM at the five SD shapes (ratio to OpenBLAS in
//    the same run) 14x32 was level or ahead on four of five shapes by up to 5%, and 3% behind 6x64 on the
//    smallest; differences near the noise of the shared machine they were taken on.
// float_gemm.cpp says how the cache blocking around the tile (KC, MC) was chosen.
//
// GCC 12 reports "(maybe) used uninitialized" inside many AVX-512 intrinsics (their pass-through operand is a
// deliberately undefined vector; GCC bug 105593, fixed in GCC 13). The pragmas must precede the header, where
// the warnings are located.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "backends/cpu/gemm/kernels.hpp"

namespace nd::backends::cpu::gemm {

namespace {

constexpr int kMr = 14;
constexpr int kVectors = 2; // zmm per tile row
constexpr int kNr = 16 * kVectors;

__mmask16 first_lanes(int count) noexcept {
    return static_cast<__mmask16>((1u << (count < 0 ? 0 : count > 16 ? 16 : count)) - 1u);
}

// ---------------------------------------------------------------------------------------------- microkernel

// 16 panel elements of type P from p as F32 (p 32-byte aligned for 16-bit panels: 64 bytes per k).
template <nd_dtype P>
[[gnu::always_inline]] inline __m512 load_panel(const void* p) noexcept {
    if constexpr (P == ND_DTYPE_F32) {
        return _mm512_load_ps(p);
    } else {
        const __m256i h = _mm256_load_si256(static_cast<const __m256i*>(p));
        if constexpr (P == ND_DTYPE_F16) {
            return _mm512_cvtph_ps(h);
        } else { // BF16: the high half of an F32
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        }
    }
}

// R is the number of rows actually computed (1..kMr); the A micro-panel stride stays kMr. P is the panel's
// element type: 16-bit panels cost two conversions per k against 28 FMAs, and halve the panel bytes read.
template <int R, nd_dtype P>
void tile(const TileArgs& t) {
    using Element = std::conditional_t<P == ND_DTYPE_F32, float, std::uint16_t>;
    __m512 acc[R][kVectors];
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) {
            acc[i][v] = _mm512_setzero_ps();
        }
    }
    // C is read (later K chunks) and written only after the k loop: start bringing its lines in now, so that the
    // epilogue does not wait on L3 or DRAM (C of a large layer, 4096 x 1280, is 21 MB).
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(t.c + i * t.ldc + t.nr - 1), _MM_HINT_T0);
    }
    const float* a = t.a;
    const auto* p = static_cast<const Element*>(t.panel);
    for (std::int64_t k = 0; k < t.kc; ++k, a += kMr, p += kNr) {
        __m512 w[kVectors];
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) {
            w[v] = load_panel<P>(p + 16 * v);
        }
#pragma GCC unroll 16
        for (int i = 0; i < R; ++i) {
            const __m512 x = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
            for (int v = 0; v < kVectors; ++v) {
                acc[i][v] = _mm512_fmadd_ps(x, w[v], acc[i][v]);
            }
        }
    }

    // Epilogue: bias, C accumulation and the right edge of C (masked lanes are neither read nor written).
    __mmask16 mask[kVectors];
    __m512 bias[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) {
        mask[v] = first_lanes(t.nr - 16 * v);
        bias[v] = t.bias != nullptr ? _mm512_maskz_loadu_ps(mask[v], t.bias + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
        float* c = t.c + i * t.ldc;
#pragma GCC unroll 4
        for (int v = 0; v < kVectors; ++v) {
            __m512 r = _mm512_add_ps(acc[i][v], bias[v]);
            if (t.add_to_c) {
                r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], c + 16 * v));
            }
            _mm512_mask_storeu_ps(c + 16 * v, mask[v], r);
        }
    }
}

template <nd_dtype P, int... R>
void tile_rows(const TileArgs& t, std::integer_sequence<int, R...>) {
    // One instantiation per row count, so that every accumulator of every remainder tile stays in a register.
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

// r[i] = row i (16 lanes) -> r[j] = column j (lane i = old r[i][j]). Inlined into loops with a constant trip
// count so that r stays in registers (an out-of-line call would pass it through the stack).
[[gnu::always_inline]] inline void transpose16(__m512 r[16]) noexcept {
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + m]: in each 128-bit lane L, column 4L + m of rows 4g..4g+3.
    __m512 u[16];
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
        const __m512d t0 = _mm512_castps_pd(t[4 * g]);
        const __m512d t1 = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * g + 2]);
        const __m512d t3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; ++m) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);     // groups 0,1: columns m, 8+m
        const __m512 v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xdd);     // groups 0,1: columns 4+m, 12+m
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88); // groups 2,3
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xdd);
        r[m] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[8 + m] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        r[4 + m] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + m] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

// Transposes a block of up to 16 rows x 16 columns: load(i) gives row i (called for i < rows only; the other
// rows are zero), store(j, v) takes column j (called for j < cols only). Rows and Cols are the compile-time
// counts of the common whole block (0 = given at run time, for the edges).
template <int Rows, int Cols, typename Load, typename Store>
[[gnu::always_inline]] inline void transpose_block(int rows, int cols, Load&& load, Store&& store) {
    if constexpr (Rows != 0) {
        rows = Rows;
    }
    if constexpr (Cols != 0) {
        cols = Cols;
    }
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
        r[i] = i < rows ? load(i) : _mm512_setzero_ps();
    }
    transpose16(r);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
        if (j < cols) {
            store(j, r[j]);
        }
    }
}

// `count` (1..16) consecutive elements of a weight row from element k0, as F32; lanes past count are zero and
// are not read from memory.
template <nd_dtype T>
[[gnu::always_inline]] inline __m512 load16(const std::byte* row, std::int64_t k0, __mmask16 m) noexcept {
    if constexpr (T == ND_DTYPE_F32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k0);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const std::uint16_t*>(row) + k0);
        if constexpr (T == ND_DTYPE_F16) {
            return _mm512_cvtph_ps(h);
        } else { // BF16: the high half of an F32
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        }
    }
}

// Stores 16 panel values (read from weights of type T, so exactly representable in T) as Out: F32, or T's own
// 16 bits (F16 rounding of an F16 value and the top half of a BF16 value are exact).
template <nd_dtype T, typename Out>
[[gnu::always_inline]] inline void store_panel(Out* out, __m512 v) noexcept {
    if constexpr (std::is_same_v<Out, float>) {
        _mm512_store_ps(out, v);
    } else if constexpr (T == ND_DTYPE_F16) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    } else {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(v), 16)));
    }
}

template <nd_dtype T, typename Out>
void pack_panel_t(const std::byte* w, std::int64_t w_row_stride, int rows, std::int64_t k, Out* panel) {
    for (int g = 0; g < kVectors; ++g) {
        const int group_rows = rows - 16 * g < 0 ? 0 : rows - 16 * g > 16 ? 16 : rows - 16 * g;
        Out* out = panel + 16 * g;
        if (group_rows == 0) {
            for (std::int64_t kk = 0; kk < k; ++kk) {
                store_panel<T>(out + kk * kNr, _mm512_setzero_ps());
            }
            continue;
        }
        const std::byte* first = w + 16 * g * w_row_stride;
        std::int64_t k0 = 0;
        auto store = [&](int j, __m512 v) { store_panel<T>(out + (k0 + j) * kNr, v); };
        if (group_rows == 16) {
            auto load = [&](int i) { return load16<T>(first + i * w_row_stride, k0, 0xffff); };
            for (; k0 + 16 <= k; k0 += 16) {
                transpose_block<16, 16>(16, 16, load, store);
            }
        }
        for (; k0 < k; k0 += 16) {
            const int count = k - k0 < 16 ? static_cast<int>(k - k0) : 16;
            const __mmask16 mask = first_lanes(count);
            auto load = [&](int i) { return load16<T>(first + i * w_row_stride, k0, mask); };
            transpose_block<0, 0>(group_rows, count, load, store);
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

// A rows are transposed 16 k at a time with the same 16x16 transpose (rows 14 and 15 zero); each k's column
// of the micro-panel is a 16-float store at kMr floats from the previous one, so each overwrites the two spare
// lanes of the one before (cheaper than masked stores, which are slow on AMD). The last column of a
// micro-panel spills 2 floats into the next one, which is written later, or into the slack the driver
// allocates after the block (kPackSlack). Edges (fewer rows or k) use masked stores.
void pack_a(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t kc, float* out) {
    for (std::int64_t i0 = 0; i0 < rows; i0 += kMr, out += kMr * kc) {
        const int mr = rows - i0 < kMr ? static_cast<int>(rows - i0) : kMr;
        const float* first = a + i0 * lda;
        std::int64_t k0 = 0;
        if (mr == kMr) {
            auto load = [&](int i) { return _mm512_loadu_ps(first + i * lda + k0); };
            auto store = [&](int j, __m512 v) { _mm512_storeu_ps(out + (k0 + j) * kMr, v); };
            for (; k0 + 16 <= kc; k0 += 16) {
                transpose_block<kMr, 16>(kMr, 16, load, store);
            }
        }
        const __mmask16 row_mask = first_lanes(mr);
        for (; k0 < kc; k0 += 16) {
            const int count = kc - k0 < 16 ? static_cast<int>(kc - k0) : 16;
            const __mmask16 k_mask = first_lanes(count);
            auto load = [&](int i) { return _mm512_maskz_loadu_ps(k_mask, first + i * lda + k0); };
            auto store = [&](int j, __m512 v) { _mm512_mask_storeu_ps(out + (k0 + j) * kMr, row_mask, v); };
            transpose_block<0, 0>(mr, count, load, store);
        }
    }
}

} // namespace

const FloatKernel& float_kernel_avx512() noexcept {
    static constexpr FloatKernel kernel{kMr, kNr, pack_panel, pack_panel_16, pack_a, tile_any};
    return kernel;
}

} // namespace nd::backends::cpu::gemm
