// Thin SIMD vector types for the op kernels, so that one kernel template compiles into every ISA variant:
//
//   VecScalar  one float, plain C++ (the baseline build; what Isa::Scalar runs)
//   VecAvx2    __m256, defined only where the file is compiled with AVX2 + FMA (*_avx2.cpp, *_avx512.cpp)
//   VecAvx512  __m512, defined only where the file is compiled with AVX-512F (*_avx512.cpp)
//
// Each type has the same static functions (load, store, partial load/store of the first n lanes, fmadd, min,
// max, select, horizontal sum and max, round to nearest, ldexp by an integral power of two), which is all the kernels and
// vector_math.hpp use. fmadd is fused in the vector types and unfused in VecScalar (see there), so the
// scalar variant may differ from the vector ones in the last bit; GCC also fuses a separate mul and add of
// vectors on its own (C++ defaults to -ffp-contract=fast), so code that needs two roundings says so with
// mul_add_rounded. Partial loads fill the missing lanes with zeros and partial stores leave the memory
// past n untouched, so a row tail never reads or writes outside its row.
#pragma once

#include <bit>
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
// GCC 12 warns inside its own AVX-512 headers (their "undefined" pass-through registers are self-initialised)
// wherever the intrinsics inline; the warnings are located in the header, so silencing them around the
// include silences only those. Include this header before anything else that includes immintrin.h.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace nd::backends::cpu::ops::simd {

struct VecScalar {
    static constexpr int kLanes = 1;
    float v;

    static VecScalar zero() noexcept { return {0.0f}; }
    static VecScalar set1(float x) noexcept { return {x}; }
    static VecScalar iota() noexcept { return {0.0f}; } // lane indices 0, 1, ... as floats
    static VecScalar load(const float* p) noexcept { return {*p}; }
    static VecScalar load_partial(const float* p, int n) noexcept { return {n > 0 ? *p : 0.0f}; }
    static void store(float* p, VecScalar a) noexcept { *p = a.v; }
    static void store_partial(float* p, VecScalar a, int n) noexcept {
        if (n > 0) {
            *p = a.v;
        }
    }
    static VecScalar add(VecScalar a, VecScalar b) noexcept { return {a.v + b.v}; }
    static VecScalar sub(VecScalar a, VecScalar b) noexcept { return {a.v - b.v}; }
    static VecScalar mul(VecScalar a, VecScalar b) noexcept { return {a.v * b.v}; }
    static VecScalar div(VecScalar a, VecScalar b) noexcept { return {a.v / b.v}; }
    // Unfused: the baseline x86-64 build has no FMA instruction and fmaf() would be a library call per step.
    static VecScalar fmadd(VecScalar a, VecScalar b, VecScalar c) noexcept { return {a.v * b.v + c.v}; }
    static VecScalar fnmadd(VecScalar a, VecScalar b, VecScalar c) noexcept { return {c.v - a.v * b.v}; }
    // round(a·b) + c: two roundings, never contracted into one fused multiply-add.
    static VecScalar mul_add_rounded(VecScalar a, VecScalar b, VecScalar c) noexcept {
        float p = a.v * b.v;
        __asm__("" : "+g"(p)); // the compiler may not see through this, so it cannot fuse
        return {p + c.v};
    }
    // a·b - p exactly, for p = the rounded a·b (the one place exactness matters: erfc's e^(-z²)).
    static VecScalar product_error(VecScalar a, VecScalar b, VecScalar p) noexcept {
        return {__builtin_fmaf(a.v, b.v, -p.v)};
    }
    static VecScalar min(VecScalar a, VecScalar b) noexcept { return {b.v < a.v ? b.v : a.v}; }
    static VecScalar max(VecScalar a, VecScalar b) noexcept { return {b.v > a.v ? b.v : a.v}; }
    static VecScalar abs(VecScalar a) noexcept { return {__builtin_fabsf(a.v)}; }
    // a < b ? x : y, lane by lane.
    static VecScalar select_lt(VecScalar a, VecScalar b, VecScalar x, VecScalar y) noexcept {
        return {a.v < b.v ? x.v : y.v};
    }
    static VecScalar round(VecScalar a) noexcept { return {__builtin_rintf(a.v)}; }
    // a·2^n for integral n in [-252, 254], overflowing to infinity and underflowing gradually like ldexp:
    // 2^n is applied as two factors 2^(n/2) and 2^(n - n/2), each a normal float.
    static VecScalar ldexp(VecScalar a, VecScalar n) noexcept {
        const auto i = static_cast<std::int32_t>(n.v);
        const std::int32_t half = i >> 1;
        const auto f1 = std::bit_cast<float>(static_cast<std::uint32_t>(half + 127) << 23);
        const auto f2 = std::bit_cast<float>(static_cast<std::uint32_t>(i - half + 127) << 23);
        return {a.v * f1 * f2};
    }
    // dst[j·dst_stride + i] = src[i·src_stride + j] for a kLanes x kLanes block.
    static void transpose_block(const float* src, std::int64_t src_stride, float* dst, std::int64_t) noexcept {
        (void)src_stride;
        *dst = *src;
    }
    // dst[i·dst_stride + k] = src[i + k] for k < 3 and kLanes positions i; may also write dst[i·dst_stride + 3]
    // (callers fill left to right, so that float is overwritten later).
    static void spread3(const float* src, float* dst, std::int64_t dst_stride) noexcept {
        (void)dst_stride;
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
    }
    static float reduce_add(VecScalar a) noexcept { return a.v; }
    static float reduce_max(VecScalar a) noexcept { return a.v; }
};

#if defined(__AVX2__) && defined(__FMA__)

struct VecAvx2 {
    static constexpr int kLanes = 8;
    __m256 v;

    static __m256i lane_mask(int n) noexcept {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static VecAvx2 zero() noexcept { return {_mm256_setzero_ps()}; }
    static VecAvx2 set1(float x) noexcept { return {_mm256_set1_ps(x)}; }
    static VecAvx2 iota() noexcept { return {_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7)}; }
    static VecAvx2 load(const float* p) noexcept { return {_mm256_loadu_ps(p)}; }
    static VecAvx2 load_partial(const float* p, int n) noexcept { return {_mm256_maskload_ps(p, lane_mask(n))}; }
    static void store(float* p, VecAvx2 a) noexcept { _mm256_storeu_ps(p, a.v); }
    static void store_partial(float* p, VecAvx2 a, int n) noexcept { _mm256_maskstore_ps(p, lane_mask(n), a.v); }
    static VecAvx2 add(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_add_ps(a.v, b.v)}; }
    static VecAvx2 sub(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_sub_ps(a.v, b.v)}; }
    static VecAvx2 mul(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_mul_ps(a.v, b.v)}; }
    static VecAvx2 div(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_div_ps(a.v, b.v)}; }
    static VecAvx2 fmadd(VecAvx2 a, VecAvx2 b, VecAvx2 c) noexcept { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
    static VecAvx2 fnmadd(VecAvx2 a, VecAvx2 b, VecAvx2 c) noexcept { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }
    static VecAvx2 product_error(VecAvx2 a, VecAvx2 b, VecAvx2 p) noexcept { return {_mm256_fmsub_ps(a.v, b.v, p.v)}; }
    static VecAvx2 mul_add_rounded(VecAvx2 a, VecAvx2 b, VecAvx2 c) noexcept {
        __m256 p = _mm256_mul_ps(a.v, b.v);
        __asm__("" : "+x"(p)); // GCC contracts mul + add into an FMA in C++ by default; this stops it
        return {_mm256_add_ps(p, c.v)};
    }
    static VecAvx2 min(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_min_ps(a.v, b.v)}; }
    static VecAvx2 max(VecAvx2 a, VecAvx2 b) noexcept { return {_mm256_max_ps(a.v, b.v)}; }
    static VecAvx2 abs(VecAvx2 a) noexcept {
        return {_mm256_and_ps(a.v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)))};
    }
    static VecAvx2 select_lt(VecAvx2 a, VecAvx2 b, VecAvx2 x, VecAvx2 y) noexcept {
        return {_mm256_blendv_ps(y.v, x.v, _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ))};
    }
    static VecAvx2 round(VecAvx2 a) noexcept {
        return {_mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
    }
    static VecAvx2 ldexp(VecAvx2 a, VecAvx2 n) noexcept {
        const __m256i i = _mm256_cvtps_epi32(n.v);
        const __m256i half = _mm256_srai_epi32(i, 1);
        const __m256i bias = _mm256_set1_epi32(127);
        const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
        const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(i, half), bias), 23));
        return {_mm256_mul_ps(_mm256_mul_ps(a.v, f1), f2)};
    }
    static void transpose_block(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride) noexcept {
        __m256 r[8], t[8];
        for (int i = 0; i < 8; ++i) {
            r[i] = _mm256_loadu_ps(src + i * src_stride);
        }
        for (int i = 0; i < 4; ++i) { // pairs of rows interleaved within 128-bit lanes
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 2; ++i) { // u[4i + m], lane L: column m + 4L of rows 4i .. 4i + 3
            const __m256d a = _mm256_castps_pd(t[4 * i]), b = _mm256_castps_pd(t[4 * i + 1]);
            const __m256d c = _mm256_castps_pd(t[4 * i + 2]), d = _mm256_castps_pd(t[4 * i + 3]);
            r[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
            r[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
            r[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
            r[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
        }
        for (int m = 0; m < 4; ++m) { // the 128-bit lanes of both row groups
            _mm256_storeu_ps(dst + m * dst_stride, _mm256_permute2f128_ps(r[m], r[4 + m], 0x20));
            _mm256_storeu_ps(dst + (m + 4) * dst_stride, _mm256_permute2f128_ps(r[m], r[4 + m], 0x31));
        }
    }
    static void spread3(const float* src, float* dst, std::int64_t dst_stride) noexcept {
        const __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 1), v2 = _mm256_loadu_ps(src + 2);
        const __m256 a = _mm256_unpacklo_ps(v0, v1), b = _mm256_unpackhi_ps(v0, v1);
        const __m256 c = _mm256_unpacklo_ps(v2, v2), d = _mm256_unpackhi_ps(v2, v2);
        // Lane L of q[m]: (v0, v1, v2, v2) of position 4L + m.
        const __m256 q[4] = {
            _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(a), _mm256_castps_pd(c))),
            _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(a), _mm256_castps_pd(c))),
            _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(b), _mm256_castps_pd(d))),
            _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(b), _mm256_castps_pd(d)))};
        for (int m = 0; m < 4; ++m) {
            _mm_storeu_ps(dst + m * dst_stride, _mm256_castps256_ps128(q[m]));
            _mm_storeu_ps(dst + (m + 4) * dst_stride, _mm256_extractf128_ps(q[m], 1));
        }
    }
    static float reduce_add(VecAvx2 a) noexcept {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
    static float reduce_max(VecAvx2 a) noexcept {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};

#endif

#if defined(__AVX512F__)

struct VecAvx512 {
    static constexpr int kLanes = 16;
    __m512 v;

    static __mmask16 lane_mask(int n) noexcept {
        return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1u);
    }
    static VecAvx512 zero() noexcept { return {_mm512_setzero_ps()}; }
    static VecAvx512 set1(float x) noexcept { return {_mm512_set1_ps(x)}; }
    static VecAvx512 iota() noexcept {
        return {_mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)};
    }
    static VecAvx512 load(const float* p) noexcept { return {_mm512_loadu_ps(p)}; }
    static VecAvx512 load_partial(const float* p, int n) noexcept { return {_mm512_maskz_loadu_ps(lane_mask(n), p)}; }
    static void store(float* p, VecAvx512 a) noexcept { _mm512_storeu_ps(p, a.v); }
    static void store_partial(float* p, VecAvx512 a, int n) noexcept { _mm512_mask_storeu_ps(p, lane_mask(n), a.v); }
    static VecAvx512 add(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_add_ps(a.v, b.v)}; }
    static VecAvx512 sub(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_sub_ps(a.v, b.v)}; }
    static VecAvx512 mul(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_mul_ps(a.v, b.v)}; }
    static VecAvx512 div(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_div_ps(a.v, b.v)}; }
    static VecAvx512 fmadd(VecAvx512 a, VecAvx512 b, VecAvx512 c) noexcept { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
    static VecAvx512 fnmadd(VecAvx512 a, VecAvx512 b, VecAvx512 c) noexcept {
        return {_mm512_fnmadd_ps(a.v, b.v, c.v)};
    }
    static VecAvx512 product_error(VecAvx512 a, VecAvx512 b, VecAvx512 p) noexcept {
        return {_mm512_fmsub_ps(a.v, b.v, p.v)};
    }
    static VecAvx512 mul_add_rounded(VecAvx512 a, VecAvx512 b, VecAvx512 c) noexcept {
        __m512 p = _mm512_mul_ps(a.v, b.v);
        __asm__("" : "+v"(p));
        return {_mm512_add_ps(p, c.v)};
    }
    static VecAvx512 min(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_min_ps(a.v, b.v)}; }
    static VecAvx512 max(VecAvx512 a, VecAvx512 b) noexcept { return {_mm512_max_ps(a.v, b.v)}; }
    static VecAvx512 abs(VecAvx512 a) noexcept {
        return {_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7fffffff)))};
    }
    static VecAvx512 select_lt(VecAvx512 a, VecAvx512 b, VecAvx512 x, VecAvx512 y) noexcept {
        return {_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ), y.v, x.v)};
    }
    static VecAvx512 round(VecAvx512 a) noexcept {
        return {_mm512_roundscale_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
    }
    static VecAvx512 ldexp(VecAvx512 a, VecAvx512 n) noexcept { return {_mm512_scalef_ps(a.v, n.v)}; }
    static void transpose_block(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride) noexcept {
        __m512 r[16], t[16];
        for (int i = 0; i < 16; ++i) {
            r[i] = _mm512_loadu_ps(src + i * src_stride);
        }
        for (int i = 0; i < 8; ++i) { // pairs of rows interleaved within 128-bit lanes
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 4; ++i) { // r[4i + m], lane L: column m + 4L of rows 4i .. 4i + 3
            const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
            const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
            r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
            r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
            r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
            r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
        }
        for (int m = 0; m < 4; ++m) { // a 4 x 4 transpose of 128-bit lanes across the four row groups
            const __m512 v0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44);
            const __m512 v1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xee);
            const __m512 v2 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44);
            const __m512 v3 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xee);
            _mm512_storeu_ps(dst + m * dst_stride, _mm512_shuffle_f32x4(v0, v2, 0x88));
            _mm512_storeu_ps(dst + (m + 4) * dst_stride, _mm512_shuffle_f32x4(v0, v2, 0xdd));
            _mm512_storeu_ps(dst + (m + 8) * dst_stride, _mm512_shuffle_f32x4(v1, v3, 0x88));
            _mm512_storeu_ps(dst + (m + 12) * dst_stride, _mm512_shuffle_f32x4(v1, v3, 0xdd));
        }
    }
    static void spread3(const float* src, float* dst, std::int64_t dst_stride) noexcept {
        const __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 1), v2 = _mm512_loadu_ps(src + 2);
        const __m512 a = _mm512_unpacklo_ps(v0, v1), b = _mm512_unpackhi_ps(v0, v1);
        const __m512 c = _mm512_unpacklo_ps(v2, v2), d = _mm512_unpackhi_ps(v2, v2);
        // Lane L of q[m]: (v0, v1, v2, v2) of position 4L + m; each lane is stored by a masked store.
        const __m512 q[4] = {
            _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(c))),
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(c))),
            _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b), _mm512_castps_pd(d))),
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)))};
        for (int lane = 0; lane < 4; ++lane) {
            const auto mask = static_cast<__mmask16>(0xfu << (4 * lane));
            for (int m = 0; m < 4; ++m) {
                _mm512_mask_storeu_ps(dst + (4 * lane + m) * dst_stride - 4 * lane, mask, q[m]);
            }
        }
    }
    static float reduce_add(VecAvx512 a) noexcept {
        const __m256 lo = _mm512_castps512_ps256(a.v);
        const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1));
        return VecAvx2::reduce_add({_mm256_add_ps(lo, hi)});
    }
    static float reduce_max(VecAvx512 a) noexcept {
        const __m256 lo = _mm512_castps512_ps256(a.v);
        const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a.v), 1));
        return VecAvx2::reduce_max({_mm256_max_ps(lo, hi)});
    }
};

#endif

} // namespace nd::backends::cpu::ops::simd
