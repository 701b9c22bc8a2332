#include "backends/cpu/ops/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace {

bool present(const core::TensorView& v) {
    return v.data != nullptr;
}

void check_affine(const core::TensorView& v, std::int64_t size, const char* op, const char* name) {
    if (!present(v)) {
        return;
    }
    require_f32(v, op, name);
    if (v.rank != 1 || v.dim(0) != size) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} {} must have {} elements", op, name, shape_string(v),
                          size);
    }
}

float affine_at(const core::TensorView& v, std::int64_t i, float fallback) {
    return present(v) ? *reinterpret_cast<const float*>(v.data + i * v.stride(0)) : fallback;
}

// [N, C, rest...] viewed as N x C x positions, requiring the positions to be one contiguous run per channel.
struct ChannelLayout {
    std::int64_t n, c, positions;
};

ChannelLayout check_group_norm(const core::TensorView& x, const core::TensorView& gamma,
                               const core::TensorView& beta, const GroupNormParams& p, const core::TensorView& out) {
    require_f32(x, "group_norm", "x");
    require_f32(out, "group_norm", "out");
    require_same_shape(x, out, "group_norm", "x", "out");
    if (x.rank < 2) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "group_norm: x {} needs at least [N, C]", shape_string(x));
    }
    const std::int64_t c = x.dim(1);
    if (p.groups <= 0 || c % p.groups != 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "group_norm: {} channels do not split into {} groups", c,
                          p.groups);
    }
    check_affine(gamma, c, "group_norm", "gamma");
    check_affine(beta, c, "group_norm", "beta");
    std::int64_t positions = 1;
    for (int d = 2; d < x.rank; ++d) {
        positions *= x.dim(d);
    }
    // Positions must be contiguous floats within a channel, for both x and out.
    for (const core::TensorView* v : {&x, &out}) {
        std::int64_t expected = 4;
        for (int d = v->rank - 1; d >= 2; --d) {
            if (v->dim(d) > 1 && v->stride(d) != expected) {
                core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                                  "group_norm: the spatial dimensions of {} must be contiguous", shape_string(*v));
            }
            expected *= v->dim(d);
        }
    }
    return {x.dim(0), c, positions};
}

const float* channel(const core::TensorView& v, std::int64_t n, std::int64_t c) {
    return reinterpret_cast<const float*>(v.data + n * v.stride(0) + c * v.stride(1));
}

float* channel_out(const core::TensorView& v, std::int64_t n, std::int64_t c) {
    return reinterpret_cast<float*>(v.data + n * v.stride(0) + c * v.stride(1));
}

// One (n, group): statistics in double over two passes (mean, then squared deviations), since a group holds
// up to 10 channels x 4096 positions and single-pass float sums lose digits the fixtures notice.
void group_norm_one(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                    const GroupNormParams& p, const core::TensorView& out, const ChannelLayout& l, std::int64_t n,
                    std::int64_t g) {
    const std::int64_t per_group = l.c / p.groups;
    const std::int64_t count = per_group * l.positions;
    double sum = 0.0;
    for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const float* row = channel(x, n, c);
        float partial = 0.0f; // per-channel float sums vectorise; the cross-channel total is double
        for (std::int64_t i = 0; i < l.positions; ++i) {
            partial += row[i];
        }
        sum += partial;
    }
    const double mean = sum / static_cast<double>(count);
    double squares = 0.0;
    const auto meanf = static_cast<float>(mean);
    for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const float* row = channel(x, n, c);
        float partial = 0.0f;
        for (std::int64_t i = 0; i < l.positions; ++i) {
            const float d = row[i] - meanf;
            partial += d * d;
        }
        squares += partial;
    }
    const auto inv_std = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(count) + p.eps));
    for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        const float scale = affine_at(gamma, c, 1.0f) * inv_std;
        const float shift = affine_at(beta, c, 0.0f) - meanf * scale;
        const float* row = channel(x, n, c);
        float* dst = channel_out(out, n, c);
        if (p.silu) {
            for (std::int64_t i = 0; i < l.positions; ++i) {
                const float v = row[i] * scale + shift;
                dst[i] = v / (1.0f + std::exp(-v));
            }
        } else {
            for (std::int64_t i = 0; i < l.positions; ++i) {
                dst[i] = row[i] * scale + shift;
            }
        }
    }
}

template <typename RowFn>
void for_last_dim_rows(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool, RowFn fn) {
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    const std::int64_t rows = x4.dim(0) * x4.dim(1) * x4.dim(2);
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::int64_t i2 = r % x4.dim(2);
            const std::int64_t i1 = (r / x4.dim(2)) % x4.dim(1);
            const std::int64_t i0 = r / (x4.dim(2) * x4.dim(1));
            fn(f32_at(x4, i0, i1, i2, 0), f32_at(o4, i0, i1, i2, 0), x4.dim(3));
        }
    };
    if (pool == nullptr) {
        run(0, rows);
    } else {
        pool->parallel_for(rows, 1, [&](std::int64_t b, std::int64_t e, int) { run(b, e); });
    }
}

void check_last_dim_op(const core::TensorView& x, const core::TensorView& out, const char* op) {
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_same_shape(x, out, op, "x", "out");
    require_inner_contiguous(x, op, "x");
    require_inner_contiguous(out, op, "out");
}

} // namespace

void group_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                const GroupNormParams& params, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    const ChannelLayout l = check_group_norm(x, gamma, beta, params, out);
    pool.run(l.n * params.groups, [&](std::int64_t task, int) {
        group_norm_one(x, gamma, beta, params, out, l, task / params.groups, task % params.groups);
    });
}

void group_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          const GroupNormParams& p, const core::TensorView& out) {
    const ChannelLayout l = check_group_norm(x, gamma, beta, p, out);
    const std::int64_t per_group = l.c / p.groups;
    for (std::int64_t n = 0; n < l.n; ++n) {
        for (std::int64_t g = 0; g < p.groups; ++g) {
            double sum = 0, squares = 0;
            for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    sum += channel(x, n, c)[i];
                }
            }
            const double count = static_cast<double>(per_group * l.positions);
            const double mean = sum / count;
            for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    const double d = channel(x, n, c)[i] - mean;
                    squares += d * d;
                }
            }
            const double inv_std = 1.0 / std::sqrt(squares / count + p.eps);
            for (std::int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    double v = (channel(x, n, c)[i] - mean) * inv_std * affine_at(gamma, c, 1.0f) +
                               affine_at(beta, c, 0.0f);
                    if (p.silu) {
                        v = v / (1.0 + std::exp(-v));
                    }
                    channel_out(out, n, c)[i] = static_cast<float>(v);
                }
            }
        }
    }
}

void layer_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta, float eps,
                const core::TensorView& out, core::ThreadPool& pool, Isa) {
    check_last_dim_op(x, out, "layer_norm");
    const std::int64_t d = x.dim(x.rank - 1);
    check_affine(gamma, d, "layer_norm", "gamma");
    check_affine(beta, d, "layer_norm", "beta");
    for_last_dim_rows(x, out, &pool, [&](const float* row, float* dst, std::int64_t n) {
        float sum = 0.0f;
        for (std::int64_t i = 0; i < n; ++i) {
            sum += row[i];
        }
        const float mean = sum / static_cast<float>(n);
        float squares = 0.0f;
        for (std::int64_t i = 0; i < n; ++i) {
            squares += (row[i] - mean) * (row[i] - mean);
        }
        const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(n) + eps);
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i] = (row[i] - mean) * inv_std * affine_at(gamma, i, 1.0f) + affine_at(beta, i, 0.0f);
        }
    });
}

void layer_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          float eps, const core::TensorView& out) {
    check_last_dim_op(x, out, "layer_norm");
    const std::int64_t d = x.dim(x.rank - 1);
    check_affine(gamma, d, "layer_norm", "gamma");
    check_affine(beta, d, "layer_norm", "beta");
    for_last_dim_rows(x, out, nullptr, [&](const float* row, float* dst, std::int64_t n) {
        double sum = 0, squares = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            sum += row[i];
        }
        const double mean = sum / static_cast<double>(n);
        for (std::int64_t i = 0; i < n; ++i) {
            squares += (row[i] - mean) * (row[i] - mean);
        }
        const double inv_std = 1.0 / std::sqrt(squares / static_cast<double>(n) + eps);
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i] = static_cast<float>((row[i] - mean) * inv_std * affine_at(gamma, i, 1.0f) + affine_at(beta, i, 0.0f));
        }
    });
}

void softmax(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    check_last_dim_op(x, out, "softmax");
    for_last_dim_rows(x, out, &pool, [](const float* row, float* dst, std::int64_t n) {
        const float max = *std::max_element(row, row + n);
        float sum = 0.0f;
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i] = std::exp(row[i] - max);
            sum += dst[i];
        }
        const float inv = 1.0f / sum;
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i] *= inv;
        }
    });
}

void softmax_reference(const core::TensorView& x, const core::TensorView& out) {
    check_last_dim_op(x, out, "softmax");
    for_last_dim_rows(x, out, nullptr, [](const float* row, float* dst, std::int64_t n) {
        double max = row[0];
        for (std::int64_t i = 1; i < n; ++i) {
            max = std::max(max, static_cast<double>(row[i]));
        }
        double sum = 0;
        std::vector<double> e(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) {
            e[static_cast<std::size_t>(i)] = std::exp(row[i] - max);
            sum += e[static_cast<std::size_t>(i)];
        }
        for (std::int64_t i = 0; i < n; ++i) {
            dst[i] = static_cast<float>(e[static_cast<std::size_t>(i)] / sum);
        }
    });
}

} // namespace nd::backends::cpu::ops
