#include "backends/cpu/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ops/fast_exp.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace detail {

#define ND_ATTENTION_TILE_NAME attention_tile_baseline
#include "backends/cpu/ops/attention_tile.inl"
#undef ND_ATTENTION_TILE_NAME

} // namespace detail

namespace {

float check(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v, float scale,
            const core::TensorView& out) {
    const char* op = "attention";
    for (auto [view, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}, {&out, "out"}}) {
        require_f32(*view, op, name);
        require_rank(*view, 4, op, name);
        require_inner_contiguous(*view, op, name);
    }
    require_same_shape(q, out, op, "q", "out");
    require_same_shape(k, v, op, "k", "v");
    if (k.dim(0) != q.dim(0) || k.dim(1) != q.dim(1) || k.dim(3) != q.dim(3)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "attention: q {} and k {} must agree on batch, heads and head size", shape_string(q),
                          shape_string(k));
    }
    if (k.dim(2) == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "attention: k {} has no keys", shape_string(k));
    }
    return scale > 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(q.dim(3)));
}

} // namespace

std::size_t attention_scratch_bytes(std::int64_t d) {
    const auto floats = static_cast<std::size_t>(d * kAttentionKeyTile + kAttentionKeyTile +
                                                 kAttentionQueryTile * d + 2 * kAttentionQueryTile);
    return floats * sizeof(float);
}

void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v, float scale,
               const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    const float s = check(q, k, v, scale, out);
    const std::int64_t d = q.dim(3);
    const std::int64_t tiles = (q.dim(2) + kAttentionQueryTile - 1) / kAttentionQueryTile;
    auto* tile_fn = &detail::attention_tile_baseline;
    if (isa == Isa::Avx512 && isa_supported(Isa::Avx512, cpu_features())) {
        tile_fn = &detail::attention_tile_avx512;
    } else if ((isa == Isa::Avx2 || isa == Isa::Avx512) && isa_supported(Isa::Avx2, cpu_features())) {
        tile_fn = &detail::attention_tile_avx2;
    }
    const std::size_t floats = attention_scratch_bytes(d) / sizeof(float);
    std::vector<float> scratch(floats * static_cast<std::size_t>(pool.size()));
    pool.run(q.dim(0) * q.dim(1) * tiles, [&](std::int64_t task, int thread) {
        detail::AttentionTile t{};
        t.q = &q;
        t.k = &k;
        t.v = &v;
        t.out = &out;
        t.scale = s;
        t.b = task / (q.dim(1) * tiles);
        t.h = (task / tiles) % q.dim(1);
        t.q_begin = (task % tiles) * kAttentionQueryTile;
        t.q_end = std::min(q.dim(2), t.q_begin + kAttentionQueryTile);
        t.scratch = scratch.data() + static_cast<std::size_t>(thread) * floats;
        tile_fn(t);
    });
}

void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         float scale, const core::TensorView& out) {
    const float s = check(q, k, v, scale, out);
    const std::int64_t d = q.dim(3);
    const std::int64_t lk = k.dim(2);
    std::vector<double> scores(static_cast<std::size_t>(lk));
    for (std::int64_t b = 0; b < q.dim(0); ++b) {
        for (std::int64_t h = 0; h < q.dim(1); ++h) {
            for (std::int64_t i = 0; i < q.dim(2); ++i) {
                const float* query = f32_at(q, b, h, i, 0);
                double max = -INFINITY;
                for (std::int64_t j = 0; j < lk; ++j) {
                    const float* key = f32_at(k, b, h, j, 0);
                    double dot = 0;
                    for (std::int64_t c = 0; c < d; ++c) {
                        dot += static_cast<double>(query[c]) * key[c];
                    }
                    scores[static_cast<std::size_t>(j)] = dot * s;
                    max = std::max(max, dot * s);
                }
                double sum = 0;
                for (double& x : scores) {
                    x = std::exp(x - max);
                    sum += x;
                }
                float* dst = f32_at(out, b, h, i, 0);
                for (std::int64_t c = 0; c < d; ++c) {
                    double acc = 0;
                    for (std::int64_t j = 0; j < lk; ++j) {
                        acc += scores[static_cast<std::size_t>(j)] * f32_at(v, b, h, j, 0)[c];
                    }
                    dst[c] = static_cast<float>(acc / sum);
                }
            }
        }
    }
}

} // namespace nd::backends::cpu::ops
