// The body of one attention query tile, included by attention.cpp, attention_tile_avx2.cpp and
// attention_tile_avx512.cpp: the same code compiled with each ISA's flags, so the compiler vectorises the
// loops over keys and over the head dimension at that ISA's width. Define ND_ATTENTION_TILE_NAME first.
//
// Per tile: keys are transposed into kt[d][j] so that scores for a query row are a sum over d of
// q[d] * kt[d][:] (vectorised over keys, no horizontal sums); then the running max m, the running sum l and
// the output accumulator are rescaled and updated (the online softmax), vectorised over d.

namespace {

// D is the head size when it is one SD uses (40, 64, 80, 160), so that a query row's accumulator lives in
// registers across all keys of a tile; 0 means "read it at run time" for any other size.
template <int D>
void tile_for_head_size(const AttentionTile& t) {
    const core::TensorView& q = *t.q;
    const core::TensorView& k = *t.k;
    const core::TensorView& v = *t.v;
    const std::int64_t d = D > 0 ? D : q.dim(3);
    const std::int64_t lk = k.dim(2);
    const std::int64_t rows = t.q_end - t.q_begin;

    float* kt = t.scratch;                             // d x kAttentionKeyTile
    float* scores = kt + d * kAttentionKeyTile;        // kAttentionKeyTile
    float* acc = scores + kAttentionKeyTile;           // kAttentionQueryTile x d
    float* running_max = acc + kAttentionQueryTile * d; // kAttentionQueryTile
    float* running_sum = running_max + kAttentionQueryTile;

    for (std::int64_t i = 0; i < rows; ++i) {
        running_max[i] = -INFINITY;
        running_sum[i] = 0.0f;
        for (std::int64_t c = 0; c < d; ++c) {
            acc[i * d + c] = 0.0f;
        }
    }

    for (std::int64_t j0 = 0; j0 < lk; j0 += kAttentionKeyTile) {
        const std::int64_t cols = std::min<std::int64_t>(kAttentionKeyTile, lk - j0);
        for (std::int64_t j = 0; j < cols; ++j) {
            const float* key = f32_at(k, t.b, t.h, j0 + j, 0);
            for (std::int64_t c = 0; c < d; ++c) {
                kt[c * kAttentionKeyTile + j] = key[c];
            }
        }
        for (std::int64_t i = 0; i < rows; ++i) {
            const float* query = f32_at(q, t.b, t.h, t.q_begin + i, 0);
            for (std::int64_t j = 0; j < cols; ++j) {
                scores[j] = 0.0f;
            }
            for (std::int64_t c = 0; c < d; ++c) {
                const float qc = query[c] * t.scale;
                const float* row = kt + c * kAttentionKeyTile;
                for (std::int64_t j = 0; j < cols; ++j) {
                    scores[j] += qc * row[j];
                }
            }
            float tile_max = running_max[i];
            for (std::int64_t j = 0; j < cols; ++j) {
                tile_max = scores[j] > tile_max ? scores[j] : tile_max;
            }
            const float correction = fast_exp(running_max[i] - tile_max);
            float tile_sum = 0.0f;
            for (std::int64_t j = 0; j < cols; ++j) {
                scores[j] = fast_exp(scores[j] - tile_max);
                tile_sum += scores[j];
            }
            running_sum[i] = running_sum[i] * correction + tile_sum;
            running_max[i] = tile_max;
            float* out_row = acc + i * d;
            if constexpr (D > 0) {
                float row[D]; // a register-resident copy: D is a compile-time constant here
                for (int c = 0; c < D; ++c) {
                    row[c] = out_row[c] * correction;
                }
                const std::byte* value = v.data + t.b * v.stride(0) + t.h * v.stride(1) + j0 * v.stride(2);
                for (std::int64_t j = 0; j < cols; ++j, value += v.stride(2)) {
                    const float p = scores[j];
                    const float* vj = reinterpret_cast<const float*>(value);
                    for (int c = 0; c < D; ++c) {
                        row[c] += p * vj[c];
                    }
                }
                for (int c = 0; c < D; ++c) {
                    out_row[c] = row[c];
                }
            } else {
                for (std::int64_t c = 0; c < d; ++c) {
                    out_row[c] *= correction;
                }
                for (std::int64_t j = 0; j < cols; ++j) {
                    const float p = scores[j];
                    const float* value = f32_at(v, t.b, t.h, j0 + j, 0);
                    for (std::int64_t c = 0; c < d; ++c) {
                        out_row[c] += p * value[c];
                    }
                }
            }
        }
    }

    for (std::int64_t i = 0; i < rows; ++i) {
        const float inv = 1.0f / running_sum[i];
        float* dst = f32_at(*t.out, t.b, t.h, t.q_begin + i, 0);
        for (std::int64_t c = 0; c < d; ++c) {
            dst[c] = acc[i * d + c] * inv;
        }
    }
}

} // namespace

void ND_ATTENTION_TILE_NAME(const AttentionTile& t) {
    switch (t.q->dim(3)) {
    case 40: tile_for_head_size<40>(t); break;
    case 64: tile_for_head_size<64>(t); break;
    case 80: tile_for_head_size<80>(t); break;
    case 160: tile_for_head_size<160>(t); break;
    default: tile_for_head_size<0>(t); break;
    }
}
