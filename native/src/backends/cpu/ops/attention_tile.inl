// The body of one attention query tile, included by attention.cpp, attention_tile_avx2.cpp and
// attention_tile_avx512.cpp: the same code compiled with each ISA's flags, so the compiler vectorises the
// loops over keys and over the head dimension at that ISA's width. Define ND_ATTENTION_TILE_NAME first.
//
// Per tile: keys are transposed into kt[d][j] so that scores for a query row are a sum over d of
// q[d] * kt[d][:] (vectorised over keys, no horizontal sums); then the running max m, the running sum l and
// the output accumulator are rescaled and updated (the online softmax), vectorised over d.

void ND_ATTENTION_TILE_NAME(const AttentionTile& t) {
    const core::TensorView& q = *t.q;
    const core::TensorView& k = *t.k;
    const core::TensorView& v = *t.v;
    const std::int64_t d = q.dim(3);
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

    for (std::int64_t i = 0; i < rows; ++i) {
        const float inv = 1.0f / running_sum[i];
        float* dst = f32_at(*t.out, t.b, t.h, t.q_begin + i, 0);
        for (std::int64_t c = 0; c < d; ++c) {
            dst[c] = acc[i * d + c] * inv;
        }
    }
}
