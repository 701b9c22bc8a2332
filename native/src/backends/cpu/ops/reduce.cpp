#include "backends/cpu/ops/reduce.hpp"

#include <algorithm>

#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace {

void check_mean(const core::TensorView& x, const core::TensorView& out) {
    require_f32(x, "mean_last_dim", "x");
    require_f32(out, "mean_last_dim", "out");
    if (x.rank < 1 || x.rank > core::kMaxDims || x.dim(x.rank - 1) == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "mean_last_dim: x {} must have 1 to 4 dimensions and a non-empty last one",
                          shape_string(x));
    }
    bool ok = out.rank == x.rank || out.rank == x.rank - 1;
    if (ok && out.rank == x.rank) {
        ok = out.dim(out.rank - 1) == 1;
    }
    for (int d = 0; ok && d + 1 < x.rank; ++d) {
        ok = out.dim(d) == x.dim(d);
    }
    if (!ok) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "mean_last_dim: out {} should be x {} without its last dimension (or with it as 1)",
                          shape_string(out), shape_string(x));
    }
}

// out as the same 4-D row index space as x's rows (x without its last dimension).
core::TensorView row_view(const core::TensorView& v, int rank) {
    core::TensorView r = v;
    r.rank = rank;
    return as_4d(r);
}

template <typename RowFn>
void for_rows(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool, RowFn fn) {
    const core::TensorView xr = row_view(x, x.rank - 1);
    const core::TensorView orow = row_view(out, x.rank - 1);
    const std::int64_t rows = xr.dim(0) * xr.dim(1) * xr.dim(2) * xr.dim(3);
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::int64_t i3 = r % xr.dim(3);
            const std::int64_t i2 = (r / xr.dim(3)) % xr.dim(2);
            const std::int64_t i1 = (r / (xr.dim(3) * xr.dim(2))) % xr.dim(1);
            const std::int64_t i0 = r / (xr.dim(3) * xr.dim(2) * xr.dim(1));
            fn(xr.data + i0 * xr.stride(0) + i1 * xr.stride(1) + i2 * xr.stride(2) + i3 * xr.stride(3),
               f32_at(orow, i0, i1, i2, i3));
        }
    };
    const std::int64_t n = x.dim(x.rank - 1);
    if (pool == nullptr || rows * n <= 16384) {
        run(0, rows);
    } else {
        pool->parallel_for(rows, std::max<std::int64_t>(1, 4096 / n), [&](std::int64_t b, std::int64_t e, int) { run(b, e); });
    }
}

} // namespace

void mean_last_dim(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_mean(x, out);
    const detail::RowKernels& k = detail::row_kernels(isa);
    const std::int64_t n = x.dim(x.rank - 1);
    const std::int64_t step = x.stride(x.rank - 1);
    for_rows(x, out, &pool, [&](const std::byte* row, float* dst) {
        double sum = 0.0;
        if (step == 4 || n == 1) {
            for (std::int64_t i = 0; i < n; i += 2048) {
                sum += k.sum(reinterpret_cast<const float*>(row) + i, std::min<std::int64_t>(2048, n - i), 0.0f);
            }
        } else {
            for (std::int64_t i = 0; i < n; ++i) {
                sum += *reinterpret_cast<const float*>(row + i * step);
            }
        }
        *dst = static_cast<float>(sum / static_cast<double>(n));
    });
}

void mean_last_dim_reference(const core::TensorView& x, const core::TensorView& out) {
    check_mean(x, out);
    const std::int64_t n = x.dim(x.rank - 1);
    const std::int64_t step = x.stride(x.rank - 1);
    for_rows(x, out, nullptr, [&](const std::byte* row, float* dst) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < n; ++i) {
            sum += *reinterpret_cast<const float*>(row + i * step);
        }
        *dst = static_cast<float>(sum / static_cast<double>(n));
    });
}

} // namespace nd::backends::cpu::ops
