// attention(): argument checks, the split into (batch, head, query tile) tasks and the per-ISA dispatch;
// the tile itself is attention_kernel.inl. attention_reference(): full score rows in double.
#include "backends/cpu/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "backends/cpu/ops/attention_kernel.hpp"
#include "backends/cpu/ops/simd.hpp"
#include "backends/cpu/ops/vector_math.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace detail {

#define ND_ATTENTION_VEC simd::VecScalar
#define ND_ATTENTION_TILE_NAME attention_tile_scalar
#define ND_ATTENTION_SCORE_KEYS 4
#define ND_ATTENTION_SCORE_VECS 2
#define ND_ATTENTION_ACCUMULATORS 8
#define ND_ATTENTION_MAX_CHUNK 5
#include "backends/cpu/ops/attention_kernel.inl"
#undef ND_ATTENTION_VEC
#undef ND_ATTENTION_TILE_NAME
#undef ND_ATTENTION_ACCUMULATORS
#undef ND_ATTENTION_SCORE_KEYS
#undef ND_ATTENTION_SCORE_VECS
#undef ND_ATTENTION_MAX_CHUNK

} // namespace detail

namespace {

constexpr double kLog2e = 1.44269504088896340736;

// The scale to use (1/sqrt(D) when options.scale <= 0), after checking every shape.
float check(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
            const AttentionOptions& options, const core::TensorView& out) {
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
    if (k.dim(2) == 0 || q.dim(3) == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "attention: k {} has no keys or no head dimension",
                          shape_string(k));
    }
    return options.scale > 0.0f ? options.scale : 1.0f / std::sqrt(static_cast<float>(q.dim(3)));
}

using TileFn = void (*)(const detail::AttentionTask&);

TileFn tile_function(Isa isa) {
    const std::uint64_t features = cpu_features();
    if (isa == Isa::Avx512 && isa_supported(Isa::Avx512, features)) {
        return &detail::attention_tile_avx512;
    }
    if ((isa == Isa::Avx2 || isa == Isa::Avx512) && isa_supported(Isa::Avx2, features)) {
        return &detail::attention_tile_avx2;
    }
    return &detail::attention_tile_scalar;
}

} // namespace

std::size_t attention_scratch_bytes(std::int64_t d) {
    return detail::attention_scratch_layout(d).total * sizeof(float);
}

void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v, float scale,
               const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    attention(q, k, v, AttentionOptions{scale, false}, out, pool, isa);
}

void attention(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
               const AttentionOptions& options, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    const float scale = check(q, k, v, options, out);
    if (q.dim(0) == 0 || q.dim(1) == 0 || q.dim(2) == 0) {
        return;
    }
    const TileFn tile = tile_function(isa);
    const std::size_t floats = detail::attention_scratch_layout(q.dim(3)).total;
    const std::int64_t tiles = (q.dim(2) + kAttentionQueryTile - 1) / kAttentionQueryTile;
    const std::int64_t tasks = q.dim(0) * q.dim(1) * tiles;
    // One scratch per pool thread (any thread may take a task), each on a 64-byte boundary.
    const auto threads = static_cast<std::size_t>(pool.size());
    // Uninitialised: a tile writes every float of its scratch before reading it.
    const auto scratch = std::make_unique_for_overwrite<float[]>(floats * threads + 16);
    float* base = scratch.get();
    base += (16 - (reinterpret_cast<std::uintptr_t>(base) / sizeof(float)) % 16) % 16;
    pool.run(tasks, [&](std::int64_t task, int thread) {
        detail::AttentionTask t{};
        t.q = &q;
        t.k = &k;
        t.v = &v;
        t.out = &out;
        t.scale_log2 = static_cast<float>(scale * kLog2e);
        t.causal = options.causal;
        t.b = task / (q.dim(1) * tiles);
        t.h = (task / tiles) % q.dim(1);
        t.q_begin = (task % tiles) * kAttentionQueryTile;
        t.q_end = std::min<std::int64_t>(q.dim(2), t.q_begin + kAttentionQueryTile);
        t.scratch = base + static_cast<std::size_t>(thread) * floats;
        tile(t);
    });
}

void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         float scale, const core::TensorView& out) {
    attention_reference(q, k, v, AttentionOptions{scale, false}, out);
}

void attention_reference(const core::TensorView& q, const core::TensorView& k, const core::TensorView& v,
                         const AttentionOptions& options, const core::TensorView& out) {
    const double s = check(q, k, v, options, out);
    const std::int64_t d = q.dim(3);
    const std::int64_t lk = k.dim(2);
    std::vector<double> scores(static_cast<std::size_t>(lk));
    for (std::int64_t b = 0; b < q.dim(0); ++b) {
        for (std::int64_t h = 0; h < q.dim(1); ++h) {
            for (std::int64_t i = 0; i < q.dim(2); ++i) {
                const float* query = f32_at(q, b, h, i, 0);
                const std::int64_t visible = options.causal ? std::min(lk, i + 1) : lk;
                double max = -INFINITY;
                for (std::int64_t j = 0; j < visible; ++j) {
                    const float* key = f32_at(k, b, h, j, 0);
                    double dot = 0;
                    for (std::int64_t c = 0; c < d; ++c) {
                        dot += static_cast<double>(query[c]) * key[c];
                    }
                    scores[static_cast<std::size_t>(j)] = dot * s;
                    max = std::max(max, dot * s);
                }
                double sum = 0;
                for (std::int64_t j = 0; j < visible; ++j) {
                    double& x = scores[static_cast<std::size_t>(j)];
                    x = std::exp(x - max);
                    sum += x;
                }
                float* dst = f32_at(out, b, h, i, 0);
                for (std::int64_t c = 0; c < d; ++c) {
                    double acc = 0;
                    for (std::int64_t j = 0; j < visible; ++j) {
                        acc += scores[static_cast<std::size_t>(j)] * f32_at(v, b, h, j, 0)[c];
                    }
                    dst[c] = static_cast<float>(acc / sum);
                }
            }
        }
    }
}

} // namespace nd::backends::cpu::ops
