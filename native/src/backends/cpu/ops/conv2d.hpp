// 2-D convolution, NCHW, any kernel size, stride and padding, through matmul: patches of the input are laid
// out as rows (im2col) a tile of output positions at a time, so the patch buffer stays bounded (about 4 MiB,
// see conv2d_patch_rows) whatever the image size, and every weight type matmul reads (F16, BF16, the GGML
// block formats) works for convolutions too.
#pragma once

#include <cstdint>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

struct Conv2dParams {
    int kernel_h = 3;
    int kernel_w = 3;
    int stride = 1;
    int padding = 1;
};

// x [N, Cin, H, W] F32; weight [Cout, Cin, kh, kw] (contiguous, F32/F16/BF16) or [Cout, Cin*kh*kw] rows in any
// type matmul reads; bias [Cout] F32 or empty (data == nullptr); out [N, Cout, OH, OW] F32 with
// OH = (H + 2p - kh) / stride + 1.
void conv2d(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
            const Conv2dParams& params, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());

// Direct convolution in double over the dequantized weights.
void conv2d_reference(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                      const Conv2dParams& params, const core::TensorView& out);

// Output positions per im2col tile for a patch length of k floats: ~4 MiB of patches, 32 to 1024 rows.
std::int64_t conv2d_patch_rows(std::int64_t k);

} // namespace nd::backends::cpu::ops
