// Normalizations and softmax, with PyTorch's semantics (biased variance, eps inside the square root).
// Statistics are accumulated in float vector lanes over short runs and in double across runs, two passes
// (mean, then squared deviations), so inputs with a large common offset keep their digits. gamma and beta
// (weight and bias) may be F32, F16 or BF16, any stride, or absent (data == nullptr).
#pragma once

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

struct GroupNormParams {
    int groups = 32;
    float eps = 1e-5f;
    bool silu = false; // fuse the SiLU that follows almost every GroupNorm in SD's ResBlocks
};

// x and out [N, C, H, W] (or [N, C, L], [N, C]); gamma and beta [C] (either may be empty: data == nullptr).
// Mean and variance per (n, group) over C/groups channels and all positions (torch.nn.GroupNorm). The
// positions of a channel must be contiguous in x and out (N and C strides are free); out may be x.
void group_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                const GroupNormParams& params, const core::TensorView& out, core::ThreadPool& pool,
                Isa isa = best_isa());
void group_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          const GroupNormParams& params, const core::TensorView& out);

// Over the last dimension (torch.nn.LayerNorm with one normalized dimension); gamma and beta [last] (either
// may be empty). x and out rank 1..4, last dimension contiguous, other strides free; out may be x.
void layer_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta, float eps,
                const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void layer_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          float eps, const core::TensorView& out);

// Over the last dimension, numerically stable (the maximum is subtracted first). Last dimension contiguous;
// out may be x.
void softmax(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void softmax_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
