// 2-D convolution, NCHW, any kernel size, stride, padding and dilation, through matmul() so that every weight
// type matmul reads (F32, F16, BF16, the GGML block formats) works for convolutions too, quantized weights
// included (their integer kernels are what make them pay off).
//
// Layout: matmul computes C = A·Wᵀ with A in F32 and W the typed weight rows [Cout, Cin·kh·kw], so the
// patches must be A and C comes out as [positions, Cout]. The other orientation (outᵀ = W·patchesᵀ, which
// would land directly in NCHW) would need the weights as the F32 A operand, i.e. quantized and F16 weights
// converted to F32 first, which is exactly what must not happen. The transpose of each C tile into NCHW costs
// Cout·positions moves against the GEMM's Cout·positions·K multiply-adds (1/2880 for a 3x3 conv over 320
// channels) and runs on a tile still in cache as register-blocked 16 x 16 (AVX-512) or 8 x 8 transposes.
// When `out` is itself channels-last in memory (a permuted view [N, C, H, W] over [N, H, W, C] memory, as a
// transformer's proj_in/proj_out sees it) C is written straight into it and there is no transpose at all.
//
// Tiling: the output positions of one image are processed a tile of conv2d_patch_rows(K) rows at a time (images
// smaller than a tile go several whole images to a tile, so that one product streams the weights for all): the
// tile's patches (im2col rows, [rows, K] floats, ci-major then ky then kx like the weight rows) are gathered
// into a buffer of at most max(4 MiB, 32·K·4 bytes) (SD 1.5 at 64x64, K = 2880: 360 rows, 4.0 MiB; never the
// 4096 x 2880 = 45 MiB full patch matrix), matmul'd, and transposed out; the C tile is at most 1024 x Cout
// floats and 4 MiB too (360 x 320 x 4 = 450 KiB here). conv2d_scratch_bytes() gives the exact figure.
// The gathering runs (ci, ky) outermost and positions inside, so each input row is read once per tile while
// the patch rows being filled stay in L1; a 3-wide stride-1 kernel writes each position's three floats with
// one vector store. A 1x1, stride-1, unpadded convolution gathers nothing when x is channels-last in memory
// (A is x itself, lda = its position stride); for NCHW x its patches are a blocked transpose of x's
// [Cin, positions] tile.
//
// Weights: the CPU backend packs them once per model (prepacked_weights.hpp) and passes them in; without that,
// float weights are packed once per call here and block-quantized ones by matmul() once per tile.
#pragma once

#include <cstdint>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu {
class PrepackedWeights;
} // namespace nd::backends::cpu

namespace nd::backends::cpu::ops {

struct Conv2dParams {
    int kernel_h = 3;
    int kernel_w = 3;
    int stride = 1;   // vertical stride (and horizontal, unless stride_w says otherwise)
    int padding = 1;  // rows of zeros above and below (and columns left and right, unless padding_w is set)
    int stride_w = 0;    // 0: the same as stride
    int padding_w = -1;  // -1: the same as padding
    int dilation_h = 1;
    int dilation_w = 1;
};

// x [N, Cin, H, W] F32, any strides; weight [Cout, Cin, kh, kw] (contiguous F32/F16/BF16) or [Cout, Cin*kh*kw]
// rows in any type matmul reads (rows `stride(0)` bytes apart); bias [Cout] F32/F16/BF16 or absent
// (data == nullptr); out [N, Cout, OH, OW] F32, any strides, not overlapping x, with
// OH = (H + 2·pad_h - dil_h·(kh - 1) - 1) / stride_h + 1 (likewise OW).
// `prepacked`, when given, is `weight` as rows [Cout, K] packed once for `isa` (prepacked_weights.hpp); the
// result is the same bit for bit.
void conv2d(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
            const Conv2dParams& params, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa(),
            const PrepackedWeights* prepacked = nullptr);

// Direct convolution (the seven loops) in double over the dequantized weights.
void conv2d_reference(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                      const Conv2dParams& params, const core::TensorView& out);

// Output positions per im2col tile for a patch length of k floats: 4 MiB of patches, 32 to 1024 rows, a
// multiple of 8.
std::int64_t conv2d_patch_rows(std::int64_t k);

// Bytes conv2d() allocates for one call with these shapes (the patch tile and the C tile, whichever it needs):
// bounded by the tile size, not by the image size.
std::int64_t conv2d_scratch_bytes(const core::TensorView& x, const core::TensorView& weight,
                                  const Conv2dParams& params, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
