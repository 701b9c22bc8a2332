#include "backends/cpu/ops/layout.hpp"

#include <cstring>

#include "backends/cpu/ops/view_checks.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::ops {

namespace {

// Calls fn(out_index_pointer_offsets...) for every element: i0..i3 of the 4-D view of `shape_of`.
template <typename Fn>
void for_each_4d(const core::TensorView& shape_of, core::ThreadPool* pool, Fn fn) {
    const core::TensorView s = as_4d(shape_of);
    const std::int64_t rows = s.dim(0) * s.dim(1) * s.dim(2);
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::int64_t i2 = r % s.dim(2);
            const std::int64_t i1 = (r / s.dim(2)) % s.dim(1);
            const std::int64_t i0 = r / (s.dim(2) * s.dim(1));
            for (std::int64_t i3 = 0; i3 < s.dim(3); ++i3) {
                fn(i0, i1, i2, i3);
            }
        }
    };
    if (pool == nullptr) {
        run(0, rows);
    } else {
        const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(s.dim(3), 1));
        pool->parallel_for(rows, grain, [&](std::int64_t b, std::int64_t e, int) { run(b, e); });
    }
}

std::byte* element(const core::TensorView& v4, std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
    return v4.data + i0 * v4.strides[0] + i1 * v4.strides[1] + i2 * v4.strides[2] + i3 * v4.strides[3];
}

void copy_impl(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool) {
    require_f32(x, "copy", "x");
    require_f32(out, "copy", "out");
    require_same_shape(x, out, "copy", "x", "out");
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    for_each_4d(out, pool, [&](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
        std::memcpy(element(o4, a, b, c, d), element(x4, a, b, c, d), sizeof(float));
    });
}

void concat_impl(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out,
                 core::ThreadPool* pool) {
    require_f32(out, "concat", "out");
    if (inputs.empty() || dim < 0 || dim >= out.rank) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "concat: need inputs and a dimension below {}, got {}",
                          out.rank, dim);
    }
    std::int64_t total = 0;
    for (const core::TensorView& in : inputs) {
        require_f32(in, "concat", "input");
        bool ok = in.rank == out.rank;
        for (int d = 0; ok && d < out.rank; ++d) {
            ok = d == dim || in.dim(d) == out.dim(d);
        }
        if (!ok) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "concat: input {} does not fit out {} along dimension {}",
                              shape_string(in), shape_string(out), dim);
        }
        total += in.dim(dim);
    }
    if (total != out.dim(dim)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "concat: inputs add up to {} along dimension {}, out {} has {}",
                          total, dim, shape_string(out), out.dim(dim));
    }
    std::int64_t offset = 0;
    for (const core::TensorView& in : inputs) {
        core::TensorView slice = out; // the part of out this input fills: a view, no copy
        slice.shape[static_cast<std::size_t>(dim)] = in.dim(dim);
        slice.data += offset * out.stride(dim);
        copy_impl(in, slice, pool);
        offset += in.dim(dim);
    }
}

void upsample_impl(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool) {
    require_f32(x, "upsample_nearest2x", "x");
    require_f32(out, "upsample_nearest2x", "out");
    require_rank(x, 4, "upsample_nearest2x", "x");
    require_rank(out, 4, "upsample_nearest2x", "out");
    if (out.dim(0) != x.dim(0) || out.dim(1) != x.dim(1) || out.dim(2) != 2 * x.dim(2) ||
        out.dim(3) != 2 * x.dim(3)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "upsample_nearest2x: out {} is not twice x {} in H and W",
                          shape_string(out), shape_string(x));
    }
    for_each_4d(out, pool, [&](std::int64_t n, std::int64_t c, std::int64_t y, std::int64_t xx) {
        *f32_at(out, n, c, y, xx) = *f32_at(x, n, c, y / 2, xx / 2);
    });
}

float load_as_f32(nd_dtype type, const std::byte* p) {
    if (type == ND_DTYPE_F32) {
        float v;
        std::memcpy(&v, p, 4);
        return v;
    }
    std::uint16_t bits;
    std::memcpy(&bits, p, 2);
    return type == ND_DTYPE_F16 ? core::f16_to_f32(bits) : core::bf16_to_f32(bits);
}

void store_from_f32(nd_dtype type, std::byte* p, float v) {
    if (type == ND_DTYPE_F32) {
        std::memcpy(p, &v, 4);
        return;
    }
    const std::uint16_t bits = type == ND_DTYPE_F16 ? core::f32_to_f16(v) : core::f32_to_bf16(v);
    std::memcpy(p, &bits, 2);
}

void convert_impl(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool) {
    for (auto [v, name] : {std::pair{&x, "x"}, {&out, "out"}}) {
        if (v->dtype != ND_DTYPE_F32 && v->dtype != ND_DTYPE_F16 && v->dtype != ND_DTYPE_BF16) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "convert: {} is {}; F32, F16 and BF16 convert", name,
                              core::dtype_name(v->dtype));
        }
    }
    require_same_shape(x, out, "convert", "x", "out");
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    for_each_4d(out, pool, [&](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
        store_from_f32(out.dtype, element(o4, a, b, c, d), load_as_f32(x.dtype, element(x4, a, b, c, d)));
    });
}

} // namespace

void copy(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    copy_impl(x, out, &pool);
}
void copy_reference(const core::TensorView& x, const core::TensorView& out) {
    copy_impl(x, out, nullptr);
}
void concat(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out, core::ThreadPool& pool,
            Isa) {
    concat_impl(inputs, dim, out, &pool);
}
void concat_reference(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out) {
    concat_impl(inputs, dim, out, nullptr);
}
void upsample_nearest2x(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    upsample_impl(x, out, &pool);
}
void upsample_nearest2x_reference(const core::TensorView& x, const core::TensorView& out) {
    upsample_impl(x, out, nullptr);
}
void convert(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    convert_impl(x, out, &pool);
}
void convert_reference(const core::TensorView& x, const core::TensorView& out) {
    convert_impl(x, out, nullptr);
}

} // namespace nd::backends::cpu::ops
