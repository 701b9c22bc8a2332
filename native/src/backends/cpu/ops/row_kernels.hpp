// Internal to the ops: the contiguous-row loops the elementwise ops, normalizations, softmax and conversions
// run, one table per ISA (row_kernels.inl compiled in row_kernels.cpp, row_kernels_avx2.cpp and
// row_kernels_avx512.cpp). The ops walk strided views (strided_loop.hpp) and hand these contiguous runs.
#pragma once

#include <cstdint>

#include "backends/cpu/isa.hpp"
#include "backends/cpu/ops/elementwise.hpp"

namespace nd::backends::cpu::ops::detail {

struct RowKernels {
    // out[i] = a[i] op b[i]; a_scalar / b_scalar: that operand is one value repeated (a broadcast).
    void (*binary)(BinaryOp op, const float* a, bool a_scalar, const float* b, bool b_scalar, float* out,
                   std::int64_t n);
    void (*scale)(const float* x, float* out, std::int64_t n, float scale, float shift);
    void (*clamp)(const float* x, float* out, std::int64_t n, float lo, float hi);
    void (*activation)(Activation kind, const float* x, float* out, std::int64_t n);
    // out[i] = a[i] * gelu_erf(g[i])
    void (*geglu)(const float* a, const float* g, float* out, std::int64_t n);
    // Σ (x[i] - shift): callers shift by a value near the mean so that a large common offset costs no digits.
    float (*sum)(const float* x, std::int64_t n, float shift);
    // Σ (x[i] - mean)²
    float (*sum_squared_deviation)(const float* x, std::int64_t n, float mean);
    // out[i] = (x[i] - center) * scale + shift, then SiLU if `silu` (group norm's per-channel affine)
    void (*affine)(const float* x, float* out, std::int64_t n, float center, float scale, float shift, bool silu);
    // out[i] = (x[i] - mean) * inv_std * gamma[i] + beta[i]; gamma / beta may be null (1 / 0)
    void (*normalize)(const float* x, float* out, std::int64_t n, float mean, float inv_std, const float* gamma,
                      const float* beta);
    // Numerically stable softmax of one row; out may be x.
    void (*softmax)(const float* x, float* out, std::int64_t n);
    // out[2i] = out[2i + 1] = x[i]
    void (*repeat2)(const float* x, float* out, std::int64_t n);
    // dst[j·dst_stride + i] = src[i·src_stride + j] for i < rows, j < cols (strides in floats), in
    // register-transposed blocks of the vector width.
    void (*transpose)(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride,
                      std::int64_t rows, std::int64_t cols);
    // im2col of a 3-wide kernel at stride 1: dst[i·dst_stride + k] = src[i + k] for k < 3, i < count. Unless
    // `exact`, it may also write dst[i·dst_stride + 3], which the caller fills afterwards.
    void (*im2col3)(const float* src, float* dst, std::int64_t dst_stride, std::int64_t count, bool exact);
    // Conversions, bit-exact with core/half.hpp (round to nearest even, NaN stays NaN, subnormals kept).
    void (*f16_to_f32)(const std::uint16_t* x, float* out, std::int64_t n);
    void (*bf16_to_f32)(const std::uint16_t* x, float* out, std::int64_t n);
    void (*f32_to_f16)(const float* x, std::uint16_t* out, std::int64_t n);
    void (*f32_to_bf16)(const float* x, std::uint16_t* out, std::int64_t n);
};

extern const RowKernels kRowKernelsScalar;
extern const RowKernels kRowKernelsAvx2;
extern const RowKernels kRowKernelsAvx512;

// The table for `isa`, falling back to the widest variant this CPU runs below it (Scalar for Neon).
const RowKernels& row_kernels(Isa isa) noexcept;

} // namespace nd::backends::cpu::ops::detail
