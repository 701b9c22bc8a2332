// Reductions over the last dimension.
#pragma once

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// out = x.mean(dim=-1): x F32 of rank 1..4, any strides; out F32 with x's shape minus the last dimension, or
// with it kept as 1 (keepdim=True). Sums in double per row.
void mean_last_dim(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                   Isa isa = best_isa());
void mean_last_dim_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
