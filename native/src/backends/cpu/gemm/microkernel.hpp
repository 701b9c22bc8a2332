// GEMM microkernels: one register-resident tile of C += A · P, where P is a packed weight panel.
//
// The panel holds NR consecutive output columns (weight rows) for kc consecutive k, K-major:
// panel[k * NR + j] = W[j0 + j, k0 + k] as F32 (converted or dequantized while packing, zero past N). The
// kernel broadcasts one element of each of the mr A rows per k and does mr x NR/width FMAs, so nothing is
// reduced horizontally and every panel load feeds mr FMAs.
#pragma once

#include <cstdint>

namespace nd::backends::cpu::gemm {

struct TileArgs {
    int mr = 0;            // rows of A and C in this tile (1 .. the kernel's MR)
    int nr = 0;            // valid columns of C (1 .. the kernel's NR); the panel is zero beyond them
    std::int64_t kc = 0;   // depth of this K chunk
    const float* a = nullptr;
    std::int64_t lda = 0;
    const float* panel = nullptr;
    float* c = nullptr;
    std::int64_t ldc = 0;
    const float* bias = nullptr; // nr values added to every row, or nullptr
    bool add_to_c = false;       // C += result (later K chunks, accumulate) instead of C = result
};

// AVX-512: MR = 8 rows, NR = 32 columns (16 zmm accumulators, 2 panel vectors, 1 broadcast).
inline constexpr int kMrAvx512 = 8;
inline constexpr int kNrAvx512 = 32;
void tile_avx512(const TileArgs& t);

// AVX2 + FMA: MR = 6 rows, NR = 16 columns (12 ymm accumulators, 2 panel vectors, 1 broadcast).
inline constexpr int kMrAvx2 = 6;
inline constexpr int kNrAvx2 = 16;
void tile_avx2(const TileArgs& t);

// Plain C++ with the same panel layout (the Scalar variant): MR = 4, NR = 8.
inline constexpr int kMrScalar = 4;
inline constexpr int kNrScalar = 8;
void tile_scalar(const TileArgs& t);

} // namespace nd::backends::cpu::gemm
