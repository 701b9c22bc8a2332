// Normalizations and softmax, with PyTorch's semantics (biased variance, eps inside the square root).
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

// x and out [N, C, H, W] (or [N, C, L]); gamma and beta [C] (either may be empty: data == nullptr).
// Mean and variance per (n, group) over C/groups channels and all positions.
void group_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                const GroupNormParams& params, const core::TensorView& out, core::ThreadPool& pool,
                Isa isa = best_isa());
void group_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          const GroupNormParams& params, const core::TensorView& out);

// Over the last dimension; gamma and beta [last] (either may be empty).
void layer_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta, float eps,
                const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void layer_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          float eps, const core::TensorView& out);

// Over the last dimension, numerically stable (the maximum is subtracted first).
void softmax(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void softmax_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
