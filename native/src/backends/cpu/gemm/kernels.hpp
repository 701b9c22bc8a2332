// The per-ISA pieces of the float GEMM (F32, F16 and BF16 weights): weight-panel packing, A packing and the
// register-tile microkernel. The driver that blocks and threads them is gemm/float_gemm.cpp;
// each ISA's pieces live in gemm_f32_<isa>.cpp.
//
// Layouts (both operands are packed so that the microkernel reads two unit-stride streams):
//
//   weight panel   NR consecutive output columns (weight rows) over ALL of K, k-major:
//                  panel[k * NR + j] = W[j0 + j, k], zero for j0 + j >= N. A K chunk [k0, k0 + kc) of a panel
//                  is the contiguous range starting at panel + k0 * NR, so the layout does not depend on the K
//                  blocking and a panel packed once (PackedWeights) serves every call. Panels hold F32 (what
//                  matmul() packs per call, converting F16/BF16) or the weights' own 16-bit F16/BF16 values
//                  (pre-packed weights: the same bytes as the weights, converted by the tile as it loads them;
//                  the conversion is exact, so both give the same products).
//   A micro-panel  MR rows of A over one K chunk, k-major: ap[k * MR + i] = A[i0 + i, k0 + k]. Rows past M are
//                  not written (and not read: the tile kernel is instantiated for every row count 1..MR).
//
// The tile computes C[mr, nr] (=|+=) Ap · Panel (+ bias): per k it loads NR/width panel vectors and broadcasts
// mr elements of A, so nothing is reduced horizontally and every panel load feeds mr FMAs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "native_diffusion.h"

namespace nd::backends::cpu::gemm {

struct TileArgs {
    int mr = 0;                  // rows of C in this tile (1 .. the kernel's MR)
    int nr = 0;                  // valid columns of C (1 .. NR); the panel is zero beyond them
    std::int64_t kc = 0;         // depth of this K chunk
    const float* a = nullptr;    // A micro-panel (MR floats per k, the first mr valid)
    const void* panel = nullptr; // weight panel at this chunk (NR elements of panel_type per k)
    nd_dtype panel_type = ND_DTYPE_F32; // F32, F16 or BF16
    float* c = nullptr;
    std::int64_t ldc = 0;
    const float* bias = nullptr; // nr values added to every row, or nullptr
    bool add_to_c = false;       // C += result (later K chunks, accumulate) instead of C = result
};

// Floats an A block needs after its last micro-panel (pack_a may store whole vectors there).
inline constexpr std::int64_t kPackSlack = 16;

// One instruction set's float GEMM pieces.
struct FloatKernel {
    int mr; // rows of a register tile
    int nr; // columns of a register tile = width of a weight panel
    // Packs weight rows [0, rows) (rows <= nr, rows w_row_stride bytes apart, k elements of w_type F32/F16/BF16
    // from w on: a K chunk when w points into the rows) into nr x k floats of panel layout, zero-filling
    // columns rows..nr-1.
    void (*pack_panel)(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                       float* panel);
    // The same for F16 or BF16 rows into a panel of the same 16-bit type (no conversion).
    void (*pack_panel_16)(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                          std::uint16_t* panel);
    // Packs rows [0, rows) x [0, kc) of A into consecutive micro-panels of mr rows (mr * kc floats each). May
    // write up to kPackSlack floats past the last micro-panel.
    void (*pack_a)(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t kc, float* out);
    // Any panel_type.
    void (*tile)(const TileArgs& t);
};

// AVX-512 F (+F16C for F16 weights): MR = 14 rows, NR = 32 columns. gemm_f32_avx512.cpp says why.
const FloatKernel& float_kernel_avx512() noexcept;
// AVX2 + FMA + F16C: MR = 6, NR = 16 (12 ymm accumulators, 2 panel vectors, 1 broadcast of the 16 registers).
const FloatKernel& float_kernel_avx2() noexcept;
// Plain C++ (the Scalar variant and the reference layout): MR = 4, NR = 8.
const FloatKernel& float_kernel_scalar() noexcept;

} // namespace nd::backends::cpu::gemm
