#include "backends/cpu/ops/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace {

// Float partial sums run over at most this many elements before they are added in double.
constexpr std::int64_t kPartialRun = 2048;

// [N, C, rest...] viewed as N x C x positions, the positions one contiguous run per channel.
struct ChannelLayout {
    std::int64_t n, c, positions;
};

ChannelLayout check_group_norm(const core::TensorView& x, const GroupNormParams& p, const core::TensorView& out) {
    require_f32(x, "group_norm", "x");
    require_f32(out, "group_norm", "out");
    require_same_shape(x, out, "group_norm", "x", "out");
    if (x.rank < 2 || x.rank > core::kMaxDims) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "group_norm: x {} must be [N, C, ...] with at most 4 dimensions",
                          shape_string(x));
    }
    const std::int64_t c = x.dim(1);
    if (p.groups <= 0 || c % p.groups != 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "group_norm: x {} has {} channels, which do not split into {} groups",
                          shape_string(x), c, p.groups);
    }
    std::int64_t positions = 1;
    for (int d = 2; d < x.rank; ++d) {
        positions *= x.dim(d);
    }
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

// Σ (x - pivot), float within runs and double across them.
double sum_in_runs(const detail::RowKernels& k, const float* x, std::int64_t n, float pivot) {
    double total = 0.0;
    for (std::int64_t i = 0; i < n; i += kPartialRun) {
        total += k.sum(x + i, std::min(kPartialRun, n - i), pivot);
    }
    return total;
}

double squared_deviation_in_runs(const detail::RowKernels& k, const float* x, std::int64_t n, float mean) {
    double total = 0.0;
    for (std::int64_t i = 0; i < n; i += kPartialRun) {
        total += k.sum_squared_deviation(x + i, std::min(kPartialRun, n - i), mean);
    }
    return total;
}

// Rows of the last dimension of a rank 1..4 view: fn(x_row, out_row, length), in parallel when given a pool.
template <typename Fn>
void for_last_dim_rows(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool, Fn fn) {
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    const std::int64_t rows = x4.dim(0) * x4.dim(1) * x4.dim(2);
    const std::int64_t n = x4.dim(3);
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::int64_t i2 = r % x4.dim(2);
            const std::int64_t i1 = (r / x4.dim(2)) % x4.dim(1);
            const std::int64_t i0 = r / (x4.dim(2) * x4.dim(1));
            fn(f32_at(x4, i0, i1, i2, 0), f32_at(o4, i0, i1, i2, 0), n);
        }
    };
    if (pool == nullptr || rows * n <= 16384) {
        run(0, rows);
    } else {
        pool->parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(n, 1)),
                           [&](std::int64_t b, std::int64_t e, int) { run(b, e); });
    }
}

void check_last_dim_op(const core::TensorView& x, const core::TensorView& out, const char* op) {
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_same_shape(x, out, op, "x", "out");
    if (x.rank < 1 || x.rank > core::kMaxDims) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: x {} must have 1 to 4 dimensions", op, shape_string(x));
    }
    require_inner_contiguous(x, op, "x");
    require_inner_contiguous(out, op, "out");
}

} // namespace

void group_norm(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                const GroupNormParams& p, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    const ChannelLayout l = check_group_norm(x, p, out);
    std::vector<float> gamma_storage, beta_storage;
    const float* g = f32_parameter(gamma, l.c, "group_norm", "gamma", gamma_storage);
    const float* b = f32_parameter(beta, l.c, "group_norm", "beta", beta_storage);
    const detail::RowKernels& k = detail::row_kernels(isa);
    const std::int64_t per_group = l.c / p.groups;
    const auto count = static_cast<double>(per_group * l.positions);
    pool.run(l.n * p.groups, [&](std::int64_t task, int) {
        const std::int64_t n = task / p.groups;
        const std::int64_t c0 = task % p.groups * per_group;
        // The mean as pivot + Σ (x - pivot) / count with the group's first value as pivot, so that an offset
        // common to the group (activations far from zero) does not eat the float sums' digits.
        const float pivot = channel(x, n, c0)[0];
        double sum = 0.0;
        for (std::int64_t c = c0; c < c0 + per_group; ++c) {
            sum += sum_in_runs(k, channel(x, n, c), l.positions, pivot);
        }
        const double mean = pivot + sum / count;
        const auto meanf = static_cast<float>(mean);
        double squares = 0.0;
        for (std::int64_t c = c0; c < c0 + per_group; ++c) {
            squares += squared_deviation_in_runs(k, channel(x, n, c), l.positions, meanf);
        }
        // Deviations were taken from the rounded mean; remove that offset's share exactly.
        const double offset = mean - meanf;
        const double variance = std::max(0.0, squares / count - offset * offset);
        const double inv_std = 1.0 / std::sqrt(variance + static_cast<double>(p.eps));
        for (std::int64_t c = c0; c < c0 + per_group; ++c) {
            const double scale = (g != nullptr ? g[c] : 1.0) * inv_std;
            const double shift = (b != nullptr ? b[c] : 0.0) - offset * scale; // (x - mean)·scale + beta
            k.affine(channel(x, n, c), channel_out(out, n, c), l.positions, meanf, static_cast<float>(scale),
                     static_cast<float>(shift), p.silu);
        }
    });
}

void group_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          const GroupNormParams& p, const core::TensorView& out) {
    const ChannelLayout l = check_group_norm(x, p, out);
    std::vector<float> gamma_storage, beta_storage;
    const float* g = f32_parameter(gamma, l.c, "group_norm", "gamma", gamma_storage);
    const float* b = f32_parameter(beta, l.c, "group_norm", "beta", beta_storage);
    const std::int64_t per_group = l.c / p.groups;
    for (std::int64_t n = 0; n < l.n; ++n) {
        for (std::int64_t grp = 0; grp < p.groups; ++grp) {
            double sum = 0, squares = 0;
            for (std::int64_t c = grp * per_group; c < (grp + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    sum += channel(x, n, c)[i];
                }
            }
            const double count = static_cast<double>(per_group * l.positions);
            const double mean = sum / count;
            for (std::int64_t c = grp * per_group; c < (grp + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    const double d = channel(x, n, c)[i] - mean;
                    squares += d * d;
                }
            }
            const double inv_std = 1.0 / std::sqrt(squares / count + p.eps);
            for (std::int64_t c = grp * per_group; c < (grp + 1) * per_group; ++c) {
                for (std::int64_t i = 0; i < l.positions; ++i) {
                    double v = (channel(x, n, c)[i] - mean) * inv_std * (g != nullptr ? g[c] : 1.0) +
                               (b != nullptr ? b[c] : 0.0);
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
                const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_last_dim_op(x, out, "layer_norm");
    const std::int64_t d = x.dim(x.rank - 1);
    std::vector<float> gamma_storage, beta_storage;
    const float* g = f32_parameter(gamma, d, "layer_norm", "gamma", gamma_storage);
    const float* b = f32_parameter(beta, d, "layer_norm", "beta", beta_storage);
    const detail::RowKernels& k = detail::row_kernels(isa);
    for_last_dim_rows(x, out, &pool, [&](const float* row, float* dst, std::int64_t n) {
        const double mean = row[0] + sum_in_runs(k, row, n, row[0]) / static_cast<double>(n);
        const auto meanf = static_cast<float>(mean);
        const double offset = mean - meanf;
        const double variance =
            std::max(0.0, squared_deviation_in_runs(k, row, n, meanf) / static_cast<double>(n) - offset * offset);
        k.normalize(row, dst, n, meanf, static_cast<float>(1.0 / std::sqrt(variance + static_cast<double>(eps))), g, b);
    });
}

void layer_norm_reference(const core::TensorView& x, const core::TensorView& gamma, const core::TensorView& beta,
                          float eps, const core::TensorView& out) {
    check_last_dim_op(x, out, "layer_norm");
    const std::int64_t d = x.dim(x.rank - 1);
    std::vector<float> gamma_storage, beta_storage;
    const float* g = f32_parameter(gamma, d, "layer_norm", "gamma", gamma_storage);
    const float* b = f32_parameter(beta, d, "layer_norm", "beta", beta_storage);
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
            dst[i] = static_cast<float>((row[i] - mean) * inv_std * (g != nullptr ? g[i] : 1.0) +
                                        (b != nullptr ? b[i] : 0.0));
        }
    });
}

void softmax(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_last_dim_op(x, out, "softmax");
    const detail::RowKernels& k = detail::row_kernels(isa);
    for_last_dim_rows(x, out, &pool, [&](const float* row, float* dst, std::int64_t n) { k.softmax(row, dst, n); });
}

void softmax_reference(const core::TensorView& x, const core::TensorView& out) {
    check_last_dim_op(x, out, "softmax");
    std::vector<double> e;
    for_last_dim_rows(x, out, nullptr, [&](const float* row, float* dst, std::int64_t n) {
        double max = -INFINITY;
        for (std::int64_t i = 0; i < n; ++i) {
            max = std::max(max, static_cast<double>(row[i]));
        }
        e.resize(static_cast<std::size_t>(n));
        double sum = 0;
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
