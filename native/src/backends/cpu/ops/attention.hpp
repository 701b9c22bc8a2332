// Fused scaled-dot-product attention: out = softmax(scale · q kᵀ) v, computed tile by tile with an online
// softmax, so the Lq x Lk score matrix never exists (SD 1.5 at 512x512 has 4096 tokens per head: that matrix
// alone would be 64 MiB per head).
#pragma once

#include <cstddef>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// Query rows and key rows per tile. Scores of one tile are kAttentionQueryTile x kAttentionKeyTile floats.
inline constexpr int kAttentionQueryTile = 32;
inline constexpr int kAttentionKeyTile = 128;

// q [B, H, Lq, D], k and v [B, H, Lk, D], out [B, H, Lq, D], all F32 with the last dimension contiguous (other
// strides are free, so heads split out of [B, L, H*D] tensors are views, not copies). scale <= 0 means
// 1/sqrt(D).
void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v, float scale,
               const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());

// Naive: the full score matrix in double. For tests at small sizes.
void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         float scale, const core::TensorView& out);

// Bytes of scratch one thread of attention() uses for head dimension d: independent of Lq and Lk.
std::size_t attention_scratch_bytes(std::int64_t d);

namespace detail {

struct AttentionTile {
    const core::TensorView* q;
    const core::TensorView* k;
    const core::TensorView* v;
    const core::TensorView* out;
    float scale;
    std::int64_t b, h, q_begin, q_end;
    float* scratch; // attention_scratch_bytes(d) bytes
};

// One query tile of one head; compiled once per ISA from attention_tile.inl.
void attention_tile_baseline(const AttentionTile& t);
void attention_tile_avx2(const AttentionTile& t);
void attention_tile_avx512(const AttentionTile& t);

} // namespace detail

} // namespace nd::backends::cpu::ops
