// Elementwise ops on F32 views: binary arithmetic with NumPy broadcasting, affine scale, clamp, and the
// activations SD's models use. All accept strided (permuted, sliced) inputs of up to four dimensions; out may
// alias an input of the same shape and strides (in place). Dimensions contiguous in every operand are merged
// first, so a contiguous tensor is one long vectorised run. Activations use the polynomials of
// vector_math.hpp (relative error about 1e-6 or better against the double-precision definitions).
//
// Each op: op(inputs..., params..., out, pool, isa) runs the `isa` variant (AVX-512, AVX2, or the baseline
// build for Scalar/Neon); op_reference(inputs..., params..., out) is plain scalar code for tests. Shape
// errors throw nd::core::Error (ND_STATUS_INVALID_ARGUMENT) naming the op and the shapes.
#pragma once

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

enum class BinaryOp { Add, Sub, Mul, Div };

// out = a (op) b, shapes broadcast as NumPy does (trailing dimensions aligned; a size of 1 stretches);
// out must have the broadcast shape.
void binary(BinaryOp op, const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
            core::ThreadPool& pool, Isa isa = best_isa());
void binary_reference(BinaryOp op, const core::TensorView& a, const core::TensorView& b,
                      const core::TensorView& out);

inline void add(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                core::ThreadPool& pool, Isa isa = best_isa()) {
    binary(BinaryOp::Add, a, b, out, pool, isa);
}
inline void sub(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                core::ThreadPool& pool, Isa isa = best_isa()) {
    binary(BinaryOp::Sub, a, b, out, pool, isa);
}
inline void mul(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                core::ThreadPool& pool, Isa isa = best_isa()) {
    binary(BinaryOp::Mul, a, b, out, pool, isa);
}
inline void div(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                core::ThreadPool& pool, Isa isa = best_isa()) {
    binary(BinaryOp::Div, a, b, out, pool, isa);
}
inline void add_reference(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out) {
    binary_reference(BinaryOp::Add, a, b, out);
}
inline void sub_reference(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out) {
    binary_reference(BinaryOp::Sub, a, b, out);
}
inline void mul_reference(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out) {
    binary_reference(BinaryOp::Mul, a, b, out);
}
inline void div_reference(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out) {
    binary_reference(BinaryOp::Div, a, b, out);
}

// out = x * scale + shift.
void scale(const core::TensorView& x, float scale, float shift, const core::TensorView& out, core::ThreadPool& pool,
           Isa isa = best_isa());
void scale_reference(const core::TensorView& x, float scale, float shift, const core::TensorView& out);

// out = min(max(x, lo), hi).
void clamp(const core::TensorView& x, float lo, float hi, const core::TensorView& out, core::ThreadPool& pool,
           Isa isa = best_isa());
void clamp_reference(const core::TensorView& x, float lo, float hi, const core::TensorView& out);

enum class Activation {
    Silu,      // x * sigmoid(x)
    GeluErf,   // x * (1 + erf(x / sqrt 2)) / 2, PyTorch's default GELU
    GeluTanh,  // the tanh approximation, PyTorch's approximate="tanh"
    QuickGelu, // x * sigmoid(1.702 x), CLIP's
};

void activation(Activation kind, const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                Isa isa = best_isa());
// The definitions above in double precision (std::exp, std::erf, std::tanh).
void activation_reference(Activation kind, const core::TensorView& x, const core::TensorView& out);

inline void silu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                 Isa isa = best_isa()) {
    activation(Activation::Silu, x, out, pool, isa);
}
inline void gelu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                 Isa isa = best_isa()) {
    activation(Activation::GeluErf, x, out, pool, isa);
}
inline void gelu_tanh(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                      Isa isa = best_isa()) {
    activation(Activation::GeluTanh, x, out, pool, isa);
}
inline void quick_gelu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                       Isa isa = best_isa()) {
    activation(Activation::QuickGelu, x, out, pool, isa);
}

// GEGLU (diffusers' GEGLU after its projection): x's last dimension holds [a, g]; out = a * gelu_erf(g), with
// half of x's last dimension. Any strides; out must not overlap x.
void geglu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void geglu_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
