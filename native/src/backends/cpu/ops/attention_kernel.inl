// One query tile of attention (see attention.hpp), written over a vector type of simd.hpp and included by
// attention.cpp (VecScalar), attention_avx2.cpp and attention_avx512.cpp, each compiled with its ISA's flags.
// Before including, define:
//   ND_ATTENTION_VEC           the vector type
//   ND_ATTENTION_TILE_NAME     the function to define (declared in attention_kernel.hpp)
//   ND_ATTENTION_SCORE_KEYS    keys per score register block
//   ND_ATTENTION_SCORE_VECS    query vectors per score register block
//   ND_ATTENTION_ACCUMULATORS  vector accumulators an output register block may hold
//   ND_ATTENTION_MAX_CHUNK     vectors of the head dimension one output register block covers at most
// and include it inside namespace nd::backends::cpu::ops::detail.
//
// Per key block (up to kAttentionKeyTile keys):
//   scores  Sᵀ[keys][queries] = K·Qᵀ: register blocks of SCORE_KEYS keys x SCORE_VECS query vectors; each
//           key element is broadcast from k's own memory (rows of a head-split view are contiguous) against
//           a vector of the tile's packed, pre-scaled queries Qᵀ[c][queries]
//   softmax per vector of queries, down the key axis: block maximum, running maximum, correction factor
//           exp2(old - new), probabilities exp2(s - max) in place, running sum; all lane-wise
//   output  O[MR queries][CB vectors of d] = O·correction + Pᵀ[key][query] (broadcast) · V[key][d], over the
//           block's keys; d is cut into chunks of at most MAX_CHUNK vectors and MR is the largest power of two
//           with MR·CB within the accumulator budget (AVX-512, d = 40: 3 vectors x 8 queries; d = 80: 3 + 2
//           vectors x 8 queries). Three-vector chunks measured best on both ISAs (AMD EPYC, one thread: AVX-512
//           171-201 GFLOP/s for d = 40..160, AVX2 88-105).
// Padding queries (a partial last tile) are zero and never stored.

namespace {

using Vec = ND_ATTENTION_VEC;
constexpr int kLanes = Vec::kLanes;
constexpr int kScoreKeys = ND_ATTENTION_SCORE_KEYS;
constexpr int kScoreVecs = ND_ATTENTION_SCORE_VECS;
constexpr int kAccumulators = ND_ATTENTION_ACCUMULATORS;
constexpr int kMaxChunk = ND_ATTENTION_MAX_CHUNK; // vectors of the head dimension per output register block
constexpr int kRowAlign = kLanes > 8 ? kLanes : 8; // queries are processed in multiples of this

constexpr int output_rows(int chunk) {
    int rows = 8;
    while (rows > 1 && rows * chunk > kAccumulators) {
        rows /= 2;
    }
    return rows;
}

// Sᵀ[j0 .. j0+MK)[q0 .. q0 + NQ·lanes) = K[j][:] · Qᵀ[:][q] over the head dimension.
template <int MK, int NQ>
inline void score_block(const float* qt, std::int64_t rows, std::int64_t d, const std::byte* keys,
                        std::int64_t key_stride, float* st, std::int64_t j0, std::int64_t q0) {
    Vec acc[MK][NQ];
    const float* key[MK];
#pragma GCC unroll 8
    for (int m = 0; m < MK; ++m) {
        key[m] = reinterpret_cast<const float*>(keys + (j0 + m) * key_stride);
#pragma GCC unroll 8
        for (int n = 0; n < NQ; ++n) {
            acc[m][n] = Vec::zero();
        }
    }
    const float* qc = qt + q0;
    for (std::int64_t c = 0; c < d; ++c, qc += rows) {
        Vec qv[NQ];
#pragma GCC unroll 8
        for (int n = 0; n < NQ; ++n) {
            qv[n] = Vec::load(qc + n * kLanes);
        }
#pragma GCC unroll 8
        for (int m = 0; m < MK; ++m) {
            const Vec b = Vec::set1(key[m][c]);
#pragma GCC unroll 8
            for (int n = 0; n < NQ; ++n) {
                acc[m][n] = Vec::fmadd(b, qv[n], acc[m][n]);
            }
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < MK; ++m) {
#pragma GCC unroll 8
        for (int n = 0; n < NQ; ++n) {
            Vec::store(st + (j0 + m) * rows + q0 + n * kLanes, acc[m][n]);
        }
    }
}

// All keys of the block for NQ query vectors from q0.
template <int NQ>
inline void score_keys(const float* qt, std::int64_t rows, std::int64_t d, const std::byte* keys,
                       std::int64_t key_stride, std::int64_t cols, float* st, std::int64_t q0) {
    std::int64_t j = 0;
    for (; j + kScoreKeys <= cols; j += kScoreKeys) {
        score_block<kScoreKeys, NQ>(qt, rows, d, keys, key_stride, st, j, q0);
    }
    switch (cols - j) {
    case 0: break;
    case 1: score_block<1, NQ>(qt, rows, d, keys, key_stride, st, j, q0); break;
    case 2: score_block<2, NQ>(qt, rows, d, keys, key_stride, st, j, q0); break;
    case 3: score_block<3, NQ>(qt, rows, d, keys, key_stride, st, j, q0); break;
    case 4: if constexpr (kScoreKeys > 4) { score_block<4, NQ>(qt, rows, d, keys, key_stride, st, j, q0); } break;
    case 5: if constexpr (kScoreKeys > 5) { score_block<5, NQ>(qt, rows, d, keys, key_stride, st, j, q0); } break;
    default: break;
    }
}

// O[r0 .. r0+MR)[c0 .. c0 + CB·lanes) = O·correction + Pᵀ·V over the block's `cols` keys. The last vector of
// the chunk reads only `tail` lanes of v (a row of v has exactly d floats).
template <int MR, int CB>
inline void output_block(const float* pt, std::int64_t rows, const std::byte* v, std::int64_t v_stride,
                         std::int64_t cols, float* o, std::int64_t d_padded, const float* correction,
                         std::int64_t r0, std::int64_t c0, int tail) {
    Vec acc[MR][CB];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        const Vec f = Vec::set1(correction[r0 + r]);
#pragma GCC unroll 8
        for (int n = 0; n < CB; ++n) {
            acc[r][n] = Vec::mul(Vec::load(o + (r0 + r) * d_padded + c0 + n * kLanes), f);
        }
    }
    const float* p = pt + r0;
    if (tail == kLanes) {
        for (std::int64_t j = 0; j < cols; ++j, p += rows) {
            const float* vr = reinterpret_cast<const float*>(v + j * v_stride) + c0;
            Vec vv[CB];
#pragma GCC unroll 8
            for (int n = 0; n < CB; ++n) {
                vv[n] = Vec::load(vr + n * kLanes);
            }
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
                const Vec b = Vec::set1(p[r]);
#pragma GCC unroll 8
                for (int n = 0; n < CB; ++n) {
                    acc[r][n] = Vec::fmadd(b, vv[n], acc[r][n]);
                }
            }
        }
    } else {
        for (std::int64_t j = 0; j < cols; ++j, p += rows) {
            const float* vr = reinterpret_cast<const float*>(v + j * v_stride) + c0;
            Vec vv[CB];
#pragma GCC unroll 8
            for (int n = 0; n + 1 < CB; ++n) {
                vv[n] = Vec::load(vr + n * kLanes);
            }
            vv[CB - 1] = Vec::load_partial(vr + (CB - 1) * kLanes, tail);
#pragma GCC unroll 8
            for (int r = 0; r < MR; ++r) {
                const Vec b = Vec::set1(p[r]);
#pragma GCC unroll 8
                for (int n = 0; n < CB; ++n) {
                    acc[r][n] = Vec::fmadd(b, vv[n], acc[r][n]);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
        for (int n = 0; n < CB; ++n) {
            Vec::store(o + (r0 + r) * d_padded + c0 + n * kLanes, acc[r][n]);
        }
    }
}

template <int CB>
inline void output_chunk(const float* pt, std::int64_t rows, std::int64_t rows_used, const std::byte* v,
                         std::int64_t v_stride, std::int64_t cols, float* o, std::int64_t d_padded,
                         const float* correction, std::int64_t c0, int tail) {
    constexpr int kRows = output_rows(CB);
    for (std::int64_t r0 = 0; r0 < rows_used; r0 += kRows) {
        output_block<kRows, CB>(pt, rows, v, v_stride, cols, o, d_padded, correction, r0, c0, tail);
    }
}

// The online-softmax step for the query vector at q0 over the block's `cols` keys (key j is j0 + j).
inline void softmax_step(float* st, std::int64_t rows, std::int64_t cols, std::int64_t q0, bool causal,
                         std::int64_t first_query, std::int64_t j0, float* running_max, float* running_sum,
                         float* correction) {
    const Vec minus_inf = Vec::set1(-INFINITY);
    if (causal) { // query q sees keys <= q: the others score -inf
        const Vec query = Vec::add(Vec::set1(static_cast<float>(first_query + q0)), Vec::iota());
        for (std::int64_t j = 0; j < cols; ++j) {
            float* s = st + j * rows + q0;
            Vec::store(s, Vec::select_lt(query, Vec::set1(static_cast<float>(j0 + j)), minus_inf, Vec::load(s)));
        }
    }
    Vec block_max = minus_inf;
    for (std::int64_t j = 0; j < cols; ++j) {
        block_max = Vec::max(block_max, Vec::load(st + j * rows + q0));
    }
    const Vec old_max = Vec::load(running_max + q0);
    const Vec new_max = Vec::max(old_max, block_max);
    // A query that has seen no key yet keeps max -inf; subtract 0 instead so that exp2 sees -inf, not NaN.
    const Vec shift = Vec::select_lt(new_max, Vec::set1(-3.0e38f), Vec::zero(), new_max);
    const Vec factor = vmath::exp2(Vec::sub(old_max, shift)); // 0 on the first block
    Vec total = Vec::zero();
    for (std::int64_t j = 0; j < cols; ++j) {
        float* s = st + j * rows + q0;
        const Vec e = vmath::exp2(Vec::sub(Vec::load(s), shift));
        Vec::store(s, e);
        total = Vec::add(total, e);
    }
    Vec::store(running_sum + q0, Vec::fmadd(Vec::load(running_sum + q0), factor, total));
    Vec::store(running_max + q0, new_max);
    Vec::store(correction + q0, factor);
}

void run_tile(const AttentionTask& t) {
    const core::TensorView& q = *t.q;
    const core::TensorView& k = *t.k;
    const core::TensorView& v = *t.v;
    const AttentionScratch g = attention_scratch_layout(q.dim(3));
    const std::int64_t d = g.d;
    const std::int64_t rows = g.rows; // row stride of the transposed buffers
    const std::int64_t lk = k.dim(2);
    const std::int64_t rows_valid = t.q_end - t.q_begin;
    const std::int64_t rows_used = round_up(rows_valid, kRowAlign);
    float* qt = t.scratch + g.qt;
    float* st = t.scratch + g.st;
    float* o = t.scratch + g.o;
    float* running_max = t.scratch + g.max;
    float* running_sum = t.scratch + g.sum;
    float* correction = t.scratch + g.correction;

    // Queries, scaled into log2 units and transposed; padding queries are zeros.
    const std::byte* q_head = q.data + t.b * q.stride(0) + t.h * q.stride(1);
    for (std::int64_t r = 0; r < rows_used; ++r) {
        if (r < rows_valid) {
            const float* src = reinterpret_cast<const float*>(q_head + (t.q_begin + r) * q.stride(2));
            for (std::int64_t c = 0; c < d; ++c) {
                qt[c * rows + r] = src[c] * t.scale_log2;
            }
        } else {
            for (std::int64_t c = 0; c < d; ++c) {
                qt[c * rows + r] = 0.0f;
            }
        }
        running_max[r] = -INFINITY;
        running_sum[r] = 0.0f;
        for (std::int64_t c = 0; c < g.d_padded; ++c) {
            o[r * g.d_padded + c] = 0.0f;
        }
    }

    const std::byte* k_head = k.data + t.b * k.stride(0) + t.h * k.stride(1);
    const std::byte* v_head = v.data + t.b * v.stride(0) + t.h * v.stride(1);
    const std::int64_t key_end = t.causal ? std::min(lk, t.q_end) : lk; // causal: later keys are all masked
    const std::int64_t vectors = (d + kLanes - 1) / kLanes;
    const std::int64_t chunks = (vectors + kMaxChunk - 1) / kMaxChunk;
    const std::int64_t chunk = (vectors + chunks - 1) / chunks;
    const std::int64_t query_vectors = rows_used / kLanes;

    for (std::int64_t j0 = 0; j0 < key_end; j0 += g.keys) {
        const std::int64_t cols = std::min<std::int64_t>(g.keys, key_end - j0);
        const std::byte* k_block = k_head + j0 * k.stride(2);
        // Scores.
        std::int64_t n = 0;
        for (; n + kScoreVecs <= query_vectors; n += kScoreVecs) {
            score_keys<kScoreVecs>(qt, rows, d, k_block, k.stride(2), cols, st, n * kLanes);
        }
        switch (query_vectors - n) {
        case 0: break;
        case 1: score_keys<1>(qt, rows, d, k_block, k.stride(2), cols, st, n * kLanes); break;
        case 2: if constexpr (kScoreVecs > 2) { score_keys<2>(qt, rows, d, k_block, k.stride(2), cols, st, n * kLanes); } break;
        case 3: if constexpr (kScoreVecs > 3) { score_keys<3>(qt, rows, d, k_block, k.stride(2), cols, st, n * kLanes); } break;
        default: break;
        }
        // Online softmax, a vector of queries at a time.
        for (std::int64_t q0 = 0; q0 < rows_used; q0 += kLanes) {
            softmax_step(st, rows, cols, q0, t.causal, t.q_begin, j0, running_max, running_sum, correction);
        }
        // Output accumulation, chunk by chunk of the head dimension.
        const std::byte* v_block = v_head + j0 * v.stride(2);
        for (std::int64_t c = 0; c < chunks; ++c) {
            const std::int64_t first = c * chunk;
            const std::int64_t count = std::min(chunk, vectors - first);
            const std::int64_t c0 = first * kLanes;
            const int tail = static_cast<int>(std::min<std::int64_t>(kLanes, d - (first + count - 1) * kLanes));
            switch (count) {
            case 1: output_chunk<1>(st, rows, rows_used, v_block, v.stride(2), cols, o, g.d_padded, correction, c0, tail); break;
            case 2: output_chunk<2>(st, rows, rows_used, v_block, v.stride(2), cols, o, g.d_padded, correction, c0, tail); break;
            case 3: output_chunk<3>(st, rows, rows_used, v_block, v.stride(2), cols, o, g.d_padded, correction, c0, tail); break;
            case 4: output_chunk<4>(st, rows, rows_used, v_block, v.stride(2), cols, o, g.d_padded, correction, c0, tail); break;
            default: output_chunk<5>(st, rows, rows_used, v_block, v.stride(2), cols, o, g.d_padded, correction, c0, tail); break;
            }
        }
    }

    // Normalise and store the valid rows.
    const core::TensorView& out = *t.out;
    for (std::int64_t r = 0; r < rows_valid; ++r) {
        float* dst = reinterpret_cast<float*>(out.data + t.b * out.stride(0) + t.h * out.stride(1) +
                                              (t.q_begin + r) * out.stride(2));
        const Vec inv = Vec::set1(1.0f / running_sum[r]);
        const float* src = o + r * g.d_padded;
        std::int64_t c = 0;
        for (; c + kLanes <= d; c += kLanes) {
            Vec::store(dst + c, Vec::mul(Vec::load(src + c), inv));
        }
        if (c < d) {
            Vec::store_partial(dst + c, Vec::mul(Vec::load(src + c), inv), static_cast<int>(d - c));
        }
    }
}

} // namespace

void ND_ATTENTION_TILE_NAME(const AttentionTask& t) {
    run_tile(t);
}
