// Elementwise ops on F32 views: binary arithmetic with NumPy broadcasting, affine scale, clamp, and the
// activations SD's models use. All accept strided (permuted, sliced) inputs; out may alias an input of the
// same shape (in place).
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
void activation_reference(Activation kind, const core::TensorView& x, const core::TensorView& out);

// GEGLU: x's last dimension holds [a, g]; out = a * gelu_erf(g), with half of x's last dimension.
void geglu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void geglu_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
