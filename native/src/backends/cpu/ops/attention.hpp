// Fused scaled-dot-product attention: out = softmax(scale · q kᵀ) v, computed tile by tile with an online
// softmax (running maximum and sum per query row, earlier partial results rescaled when the maximum grows),
// so the Lq x Lk score matrix never exists: SD 1.5 at 512x512 has 4096 tokens per head, and that matrix
// alone would be 64 MiB per head.
//
// Work is split over the pool by (batch, head, tile of kAttentionQueryTile queries). A task packs its queries
// transposed and pre-multiplied by scale·log2 e (so the exponentials are exp2), then for each block of up to
// kAttentionKeyTile keys: computes the block's scores transposed, Sᵀ[key][query], with a register-blocked
// kernel that broadcasts key elements straight from k's memory against vectors of queries (no per-block
// packing of the keys, no horizontal sums); updates the running maximum and sum a vector of queries at a
// time down the key axis; and accumulates p·v into the tile's output with the rows of v read in place.
// Per-thread scratch is attention_scratch_bytes(d), a function of the head size and the tile sizes only,
// never of Lq or Lk: 55 KiB for d = 40, 65 KiB for 64, 73 KiB for 80, 113 KiB for 160.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/isa.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu::ops {

// Query rows per task and keys per block. One score block is kAttentionQueryTile x kAttentionKeyTile floats.
inline constexpr int kAttentionQueryTile = 64;
inline constexpr int kAttentionKeyTile = 128;

struct AttentionOptions {
    float scale = 0.0f;  // <= 0 means 1/sqrt(D)
    bool causal = false; // query i sees keys 0..i only (PyTorch's is_causal, top-left aligned; CLIP's mask)
};

// q [B, H, Lq, D], k and v [B, H, Lk, D], out [B, H, Lq, D], all F32 with the last dimension contiguous (other
// strides are free, so heads split out of [B, L, H*D] tensors are views, not copies). out must not overlap
// q, k or v. scale <= 0 means 1/sqrt(D).
void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v, float scale,
               const core::TensorView& out, core::ThreadPool& pool, Isa isa = best_isa());
void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
               const AttentionOptions& options, const core::TensorView& out, core::ThreadPool& pool,
               Isa isa = best_isa());

// Naive: the full score row in double. For tests at small sizes (or a few query rows of a large case).
void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         float scale, const core::TensorView& out);
void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         const AttentionOptions& options, const core::TensorView& out);

// Bytes of scratch one thread of attention() uses for head size d (every ISA variant fits in it): independent
// of Lq and Lk. attention() allocates this once per pool thread per call.
std::size_t attention_scratch_bytes(std::int64_t d);

} // namespace nd::backends::cpu::ops
