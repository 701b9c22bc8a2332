// Ops that move data without arithmetic: strided copy (what permute + contiguous needs), concatenation,
// nearest-neighbour 2x upsampling, and dtype conversion.
#pragma once

#include <span>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// out = x element by element, any strides on either side (a permuted view copied into a contiguous tensor
// makes permute + contiguous). Any plain dtype (F32, F16, BF16, I32, I64), the same on both sides; shapes
// must be equal. Runs contiguous in both are block copies.
void copy(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void copy_reference(const core::TensorView& x, const core::TensorView& out);

// out = x.permute(perm) (PyTorch's meaning: out.shape[i] == x.shape[perm[i]]) written into out's strides, so
// with a contiguous out this is permute + contiguous. perm has x.rank entries, a permutation of 0..rank-1.
void permute(const core::TensorView& x, std::span<const int> perm, const core::TensorView& out,
             core::ThreadPool& pool, Isa isa = best_isa());
void permute_reference(const core::TensorView& x, std::span<const int> perm, const core::TensorView& out);

// out = the inputs joined along `dim` (0..rank-1); every other dimension must agree. Same dtype everywhere.
void concat(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out, core::ThreadPool& pool,
            Isa isa = best_isa());
void concat_reference(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out);

// x [N, C, H, W] -> out [N, C, 2H, 2W], each value repeated in a 2x2 square (F.interpolate(scale_factor=2,
// mode="nearest")). F32, any strides.
void upsample_nearest2x(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                        Isa isa = best_isa());
void upsample_nearest2x_reference(const core::TensorView& x, const core::TensorView& out);

// out = x converted between F32, F16 and BF16 (round to nearest even), same shape, any strides.
void convert(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void convert_reference(const core::TensorView& x, const core::TensorView& out);

} // namespace nd::backends::cpu::ops
