// Compiled with the AVX2 flags (see native/CMakeLists.txt); called only when the CPU has AVX2 + FMA.
#include <immintrin.h>

#include "backends/cpu/gemm/microkernel.hpp"

namespace nd::backends::cpu::gemm {

namespace {

// AVX2 has no masked float stores for arbitrary widths that are cheap to build, so a partial right edge goes
// through a small buffer.
template <int MR>
void tile(const TileArgs& t) {
    __m256 acc[MR][2];
    for (int i = 0; i < MR; ++i) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    const float* p = t.panel;
    for (std::int64_t k = 0; k < t.kc; ++k, p += kNrAvx2) {
        const __m256 w0 = _mm256_loadu_ps(p);
        const __m256 w1 = _mm256_loadu_ps(p + 8);
        for (int i = 0; i < MR; ++i) {
            const __m256 a = _mm256_broadcast_ss(t.a + i * t.lda + k);
            acc[i][0] = _mm256_fmadd_ps(a, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, w1, acc[i][1]);
        }
    }
    alignas(32) float row[kNrAvx2];
    for (int i = 0; i < MR; ++i) {
        _mm256_store_ps(row, acc[i][0]);
        _mm256_store_ps(row + 8, acc[i][1]);
        float* c = t.c + i * t.ldc;
        for (int j = 0; j < t.nr; ++j) {
            float v = row[j] + (t.bias != nullptr ? t.bias[j] : 0.0f);
            c[j] = t.add_to_c ? c[j] + v : v;
        }
    }
}

} // namespace

void tile_avx2(const TileArgs& t) {
    switch (t.mr) {
    case 6: tile<6>(t); break;
    case 5: tile<5>(t); break;
    case 4: tile<4>(t); break;
    case 3: tile<3>(t); break;
    case 2: tile<2>(t); break;
    default: tile<1>(t); break;
    }
}

} // namespace nd::backends::cpu::gemm
