// Internal to attention.cpp and its per-ISA files: the geometry of one query tile's scratch and the entry
// point each ISA variant of attention_kernel.inl defines.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/ops/attention.hpp"
#include "core/tensor_view.hpp"

namespace nd::backends::cpu::ops::detail {

inline constexpr int kAttentionLanePad = 16; // the widest vector; the head size pads to it for the accumulator

constexpr std::int64_t round_up(std::int64_t x, std::int64_t to) noexcept {
    return (x + to - 1) / to * to;
}

// The scratch of one query tile. Scores are kept transposed, [key][query], so that the online softmax runs
// down the key axis with queries along the vector lanes (no horizontal reductions, one exp2 per score), and
// the score kernel broadcasts key elements straight from k's memory against packed query vectors (no
// per-tile transpose of the keys).
struct AttentionScratch {
    std::int64_t rows;       // queries per tile (kAttentionQueryTile, a multiple of every vector width)
    std::int64_t d;          // head size
    std::int64_t d_padded;   // head size rounded up to kAttentionLanePad
    std::int64_t keys;       // keys per block
    // Offsets in floats from the start of the scratch.
    std::size_t qt, st, o, max, sum, correction, total;
};

constexpr AttentionScratch attention_scratch_layout(std::int64_t d) noexcept {
    AttentionScratch a{};
    a.rows = round_up(kAttentionQueryTile, kAttentionLanePad);
    a.d = d;
    a.d_padded = round_up(d, kAttentionLanePad);
    a.keys = kAttentionKeyTile;
    std::size_t at = 0;
    auto take = [&at](std::int64_t floats) {
        const std::size_t start = at;
        at += static_cast<std::size_t>(round_up(floats, 16)); // every buffer starts on a 64-byte boundary
        return start;
    };
    a.qt = take(a.d * a.rows);         // queries scaled into log2 units, transposed [d][rows]
    a.st = take(a.keys * a.rows);      // scores, then probabilities, transposed [keys][rows]
    a.o = take(a.rows * a.d_padded);   // unnormalised output accumulator [rows][d_padded]
    a.max = take(a.rows);              // running maximum per query (log2 units)
    a.sum = take(a.rows);              // running sum per query
    a.correction = take(a.rows);       // factor this block applies to the accumulator, per query
    a.total = at;
    return a;
}

struct AttentionTask {
    const core::TensorView* q;
    const core::TensorView* k;
    const core::TensorView* v;
    const core::TensorView* out;
    float scale_log2; // scale · log2 e
    bool causal;
    std::int64_t b, h, q_begin, q_end;
    float* scratch; // attention_scratch_layout(d).total floats, 64-byte aligned
};

// One query tile of one head, compiled once per ISA from attention_kernel.inl.
void attention_tile_scalar(const AttentionTask& t);
void attention_tile_avx2(const AttentionTask& t);
void attention_tile_avx512(const AttentionTask& t);

} // namespace nd::backends::cpu::ops::detail
