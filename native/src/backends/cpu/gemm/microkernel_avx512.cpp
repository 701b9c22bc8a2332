// Compiled with the AVX-512 flags (see native/CMakeLists.txt); called only when the CPU has AVX-512.
#include <immintrin.h>

#include "backends/cpu/gemm/microkernel.hpp"

namespace nd::backends::cpu::gemm {

namespace {

// MR is a template parameter so that the accumulators stay in registers (the compiler unrolls the row loops);
// 8 instantiations, one per possible remainder of M.
template <int MR>
void tile(const TileArgs& t) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; ++i) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    const float* p = t.panel;
    for (std::int64_t k = 0; k < t.kc; ++k, p += kNrAvx512) {
        const __m512 w0 = _mm512_loadu_ps(p);
        const __m512 w1 = _mm512_loadu_ps(p + 16);
        for (int i = 0; i < MR; ++i) {
            const __m512 a = _mm512_set1_ps(t.a[i * t.lda + k]);
            acc[i][0] = _mm512_fmadd_ps(a, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(a, w1, acc[i][1]);
        }
    }
    // Masks for a partial tile at the right edge of C.
    const int n0 = t.nr < 16 ? t.nr : 16;
    const int n1 = t.nr > 16 ? t.nr - 16 : 0;
    const __mmask16 m0 = static_cast<__mmask16>((1u << n0) - 1u);
    const __mmask16 m1 = static_cast<__mmask16>((1u << n1) - 1u);
    __m512 b0 = _mm512_setzero_ps();
    __m512 b1 = _mm512_setzero_ps();
    if (t.bias != nullptr) {
        b0 = _mm512_maskz_loadu_ps(m0, t.bias);
        b1 = _mm512_maskz_loadu_ps(m1, t.bias + 16);
    }
    for (int i = 0; i < MR; ++i) {
        float* c = t.c + i * t.ldc;
        __m512 r0 = _mm512_add_ps(acc[i][0], b0);
        __m512 r1 = _mm512_add_ps(acc[i][1], b1);
        if (t.add_to_c) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, c));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, c + 16));
        }
        _mm512_mask_storeu_ps(c, m0, r0);
        _mm512_mask_storeu_ps(c + 16, m1, r1);
    }
}

} // namespace

void tile_avx512(const TileArgs& t) {
    switch (t.mr) {
    case 8: tile<8>(t); break;
    case 7: tile<7>(t); break;
    case 6: tile<6>(t); break;
    case 5: tile<5>(t); break;
    case 4: tile<4>(t); break;
    case 3: tile<3>(t); break;
    case 2: tile<2>(t); break;
    default: tile<1>(t); break;
    }
}

} // namespace nd::backends::cpu::gemm
