#include "backends/cpu/ops/layout.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/strided_loop.hpp"
#include "backends/cpu/ops/view_checks.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::ops {

namespace {

void require_plain(const core::TensorView& v, const char* op, const char* name) {
    if (core::dtype_is_quantized(v.dtype) || core::dtype_size(v.dtype) == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} is {}; only plain element types are supported", op,
                          name, core::dtype_name(v.dtype));
    }
    if (v.rank < 0 || v.rank > core::kMaxDims) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} has rank {}; 0 to 4 are supported", op, name, v.rank);
    }
    if (v.data == nullptr && v.elements() > 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} has no data", op, name);
    }
}

void check_copy(const core::TensorView& x, const core::TensorView& out, const char* op) {
    require_plain(x, op, "x");
    require_plain(out, op, "out");
    if (x.dtype != out.dtype) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: x is {} but out is {}; use convert", op,
                          core::dtype_name(x.dtype), core::dtype_name(out.dtype));
    }
    require_same_shape(x, out, op, "x", "out");
}

void copy_element(std::byte* dst, const std::byte* src, std::int64_t size) {
    switch (size) {
    case 2: std::memcpy(dst, src, 2); return;
    case 4: std::memcpy(dst, src, 4); return;
    case 8: std::memcpy(dst, src, 8); return;
    default: std::memcpy(dst, src, static_cast<std::size_t>(size)); return;
    }
}

// A copy whose source is contiguous along a dimension other than out's innermost one (a transpose, as in
// [B, C, HW] -> [B, HW, C]) runs as register-blocked 2-D transposes instead of one strided read per element.
// Returns false when the copy is not of that shape. 4-byte elements only.
bool copy_as_transposes(const StridedLoop<2>& loop, core::ThreadPool* pool, const detail::RowKernels& k) {
    const int r = loop.rank;
    const auto& os = loop.strides[0];
    const auto& xs = loop.strides[1];
    if (r < 2 || os[static_cast<std::size_t>(r - 1)] != 4 || xs[static_cast<std::size_t>(r - 1)] % 4 != 0) {
        return false;
    }
    int e = -1; // the dimension x is contiguous along
    for (int d = 0; d + 1 < r; ++d) {
        if (xs[static_cast<std::size_t>(d)] == 4 && os[static_cast<std::size_t>(d)] % 4 == 0) {
            e = d;
        }
    }
    const std::int64_t cols = loop.shape[static_cast<std::size_t>(r - 1)]; // out's contiguous dimension
    if (e < 0 || cols < 8 || loop.shape[static_cast<std::size_t>(e)] < 8) {
        return false;
    }
    // Blocks of 64 along e, times every index of the other dimensions.
    constexpr std::int64_t kBlock = 64;
    const std::int64_t ne = loop.shape[static_cast<std::size_t>(e)];
    const std::int64_t blocks = (ne + kBlock - 1) / kBlock;
    std::int64_t outer = 1;
    for (int d = 0; d + 1 < r; ++d) {
        if (d != e) {
            outer *= loop.shape[static_cast<std::size_t>(d)];
        }
    }
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t task = begin; task < end; ++task) {
            std::int64_t rest = task / blocks;
            const std::int64_t i0 = task % blocks * kBlock;
            std::byte* o = loop.data[0] + i0 * os[static_cast<std::size_t>(e)];
            const std::byte* x = loop.data[1] + i0 * 4;
            for (int d = r - 2; d >= 0; --d) {
                if (d == e) {
                    continue;
                }
                const std::int64_t size = loop.shape[static_cast<std::size_t>(d)];
                o += rest % size * os[static_cast<std::size_t>(d)];
                x += rest % size * xs[static_cast<std::size_t>(d)];
                rest /= size;
            }
            // x as [cols][e] (rows xs[r-1] apart, e contiguous) -> out [e][cols].
            k.transpose(reinterpret_cast<const float*>(x), xs[static_cast<std::size_t>(r - 1)] / 4, reinterpret_cast<float*>(o),
                        os[static_cast<std::size_t>(e)] / 4, cols, std::min(kBlock, ne - i0));
        }
    };
    const std::int64_t tasks = outer * blocks;
    if (pool == nullptr || tasks * kBlock * cols <= kPieceElements) {
        run(0, tasks);
    } else {
        pool->parallel_for(tasks, std::max<std::int64_t>(1, kPieceElements / (kBlock * cols)),
                           [&](std::int64_t b, std::int64_t en, int) { run(b, en); });
    }
    return true;
}

// Shapes and dtypes already checked.
void copy_runs(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool,
               const detail::RowKernels* kernels = nullptr) {
    const auto size = static_cast<std::int64_t>(core::dtype_size(x.dtype));
    const core::TensorView o4 = as_4d(out);
    const auto loop = make_strided_loop<2>(o4, {o4, as_4d(x)});
    if (size == 4 && kernels != nullptr && copy_as_transposes(loop, pool, *kernels)) {
        return;
    }
    for_each_run(loop, pool, [&](const std::array<std::byte*, 2>& p, const std::array<std::int64_t, 2>& s,
                                 std::int64_t n) {
        if (s[0] == size && s[1] == size) {
            std::memmove(p[0], p[1], static_cast<std::size_t>(n * size));
            return;
        }
        for (std::int64_t i = 0; i < n; ++i) {
            copy_element(p[0] + i * s[0], p[1] + i * s[1], size);
        }
    });
}

void copy_reference_impl(const core::TensorView& x, const core::TensorView& out) {
    const auto size = static_cast<std::int64_t>(core::dtype_size(x.dtype));
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    for (std::int64_t a = 0; a < o4.dim(0); ++a) {
        for (std::int64_t b = 0; b < o4.dim(1); ++b) {
            for (std::int64_t c = 0; c < o4.dim(2); ++c) {
                for (std::int64_t d = 0; d < o4.dim(3); ++d) {
                    std::memcpy(o4.data + a * o4.stride(0) + b * o4.stride(1) + c * o4.stride(2) + d * o4.stride(3),
                                x4.data + a * x4.stride(0) + b * x4.stride(1) + c * x4.stride(2) + d * x4.stride(3),
                                static_cast<std::size_t>(size));
                }
            }
        }
    }
}

core::TensorView permuted(const core::TensorView& x, std::span<const int> perm, const core::TensorView& out) {
    require_plain(x, "permute", "x");
    bool ok = static_cast<int>(perm.size()) == x.rank;
    std::array<bool, core::kMaxDims> seen{};
    for (std::size_t i = 0; ok && i < perm.size(); ++i) {
        ok = perm[i] >= 0 && perm[i] < x.rank && !seen[static_cast<std::size_t>(perm[i])];
        if (ok) {
            seen[static_cast<std::size_t>(perm[i])] = true;
        }
    }
    if (!ok) {
        std::string list;
        for (std::size_t i = 0; i < perm.size(); ++i) {
            list += (i > 0 ? ", " : "") + std::to_string(perm[i]);
        }
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "permute: ({}) is not a permutation of the {} dimensions of x {}",
                          list, x.rank, shape_string(x));
    }
    core::TensorView view = x;
    for (int i = 0; i < x.rank; ++i) {
        view.shape[static_cast<std::size_t>(i)] = x.dim(perm[static_cast<std::size_t>(i)]);
        view.strides[static_cast<std::size_t>(i)] = x.stride(perm[static_cast<std::size_t>(i)]);
    }
    if (out.rank != x.rank) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "permute: out {} should be {} (x {} permuted)", shape_string(out),
                          shape_string(view), shape_string(x));
    }
    for (int i = 0; i < x.rank; ++i) {
        if (out.dim(i) != view.dim(i)) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "permute: out {} should be {} (x {} permuted)",
                              shape_string(out), shape_string(view), shape_string(x));
        }
    }
    return view;
}

void check_concat(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out) {
    require_plain(out, "concat", "out");
    if (inputs.empty() || dim < 0 || dim >= out.rank) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "concat: need at least one input and a dimension in 0..{} of out {}, got {} inputs and {}",
                          out.rank - 1, shape_string(out), inputs.size(), dim);
    }
    std::int64_t total = 0;
    for (const core::TensorView& in : inputs) {
        require_plain(in, "concat", "input");
        bool ok = in.rank == out.rank && in.dtype == out.dtype;
        for (int d = 0; ok && d < out.rank; ++d) {
            ok = d == dim || in.dim(d) == out.dim(d);
        }
        if (!ok) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "concat: input {} {} does not fit out {} {} along dimension {}",
                              shape_string(in), core::dtype_name(in.dtype), shape_string(out),
                              core::dtype_name(out.dtype), dim);
        }
        total += in.dim(dim);
    }
    if (total != out.dim(dim)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "concat: inputs add up to {} along dimension {}, out {} has {}",
                          total, dim, shape_string(out), out.dim(dim));
    }
}

// The part of out that input i fills: a view, no copy.
template <typename Fn>
void for_each_slice(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out, Fn fn) {
    std::int64_t offset = 0;
    for (const core::TensorView& in : inputs) {
        core::TensorView slice = out;
        slice.shape[static_cast<std::size_t>(dim)] = in.dim(dim);
        slice.data += offset * out.stride(dim);
        fn(in, slice);
        offset += in.dim(dim);
    }
}

void check_upsample(const core::TensorView& x, const core::TensorView& out) {
    require_f32(x, "upsample_nearest2x", "x");
    require_f32(out, "upsample_nearest2x", "out");
    require_rank(x, 4, "upsample_nearest2x", "x");
    require_rank(out, 4, "upsample_nearest2x", "out");
    if (out.dim(0) != x.dim(0) || out.dim(1) != x.dim(1) || out.dim(2) != 2 * x.dim(2) ||
        out.dim(3) != 2 * x.dim(3)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "upsample_nearest2x: out {} is not twice x {} in H and W",
                          shape_string(out), shape_string(x));
    }
}

void check_convert(const core::TensorView& x, const core::TensorView& out) {
    for (auto [v, name] : {std::pair{&x, "x"}, {&out, "out"}}) {
        if (v->dtype != ND_DTYPE_F32 && v->dtype != ND_DTYPE_F16 && v->dtype != ND_DTYPE_BF16) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "convert: {} is {}; F32, F16 and BF16 convert", name,
                              core::dtype_name(v->dtype));
        }
        require_plain(*v, "convert", name);
    }
    require_same_shape(x, out, "convert", "x", "out");
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

} // namespace

void copy(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_copy(x, out, "copy");
    copy_runs(x, out, &pool, &detail::row_kernels(isa));
}

void copy_reference(const core::TensorView& x, const core::TensorView& out) {
    check_copy(x, out, "copy");
    copy_reference_impl(x, out);
}

void permute(const core::TensorView& x, std::span<const int> perm, const core::TensorView& out,
             core::ThreadPool& pool, Isa isa) {
    const core::TensorView view = permuted(x, perm, out);
    check_copy(view, out, "permute");
    copy(view, out, pool, isa);
}

void permute_reference(const core::TensorView& x, std::span<const int> perm, const core::TensorView& out) {
    const core::TensorView view = permuted(x, perm, out);
    check_copy(view, out, "permute");
    copy_reference_impl(view, out);
}

void concat(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out, core::ThreadPool& pool,
            Isa isa) {
    check_concat(inputs, dim, out);
    const detail::RowKernels& k = detail::row_kernels(isa);
    for_each_slice(inputs, dim, out, [&](const core::TensorView& in, const core::TensorView& slice) {
        copy_runs(in, slice, &pool, &k);
    });
}

void concat_reference(std::span<const core::TensorView> inputs, int dim, const core::TensorView& out) {
    check_concat(inputs, dim, out);
    for_each_slice(inputs, dim, out,
                   [&](const core::TensorView& in, const core::TensorView& slice) { copy_reference_impl(in, slice); });
}

void upsample_nearest2x(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_upsample(x, out);
    const detail::RowKernels& k = detail::row_kernels(isa);
    const std::int64_t h = x.dim(2);
    const std::int64_t w = x.dim(3);
    const std::int64_t rows = x.dim(0) * x.dim(1) * h;
    const bool contiguous_rows = (w <= 1 || x.stride(3) == 4) && out.stride(3) == 4;
    pool.parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(w, 1)),
                      [&](std::int64_t begin, std::int64_t end, int) {
                          for (std::int64_t r = begin; r < end; ++r) {
                              const std::int64_t y = r % h;
                              const std::int64_t c = (r / h) % x.dim(1);
                              const std::int64_t n = r / (h * x.dim(1));
                              const float* src = f32_at(x, n, c, y, 0);
                              for (std::int64_t dy = 0; dy < 2; ++dy) {
                                  float* dst = f32_at(out, n, c, 2 * y + dy, 0);
                                  if (contiguous_rows) {
                                      k.repeat2(src, dst, w);
                                      continue;
                                  }
                                  for (std::int64_t i = 0; i < 2 * w; ++i) {
                                      *f32_at(out, n, c, 2 * y + dy, i) = *f32_at(x, n, c, y, i / 2);
                                  }
                              }
                          }
                      });
}

void upsample_nearest2x_reference(const core::TensorView& x, const core::TensorView& out) {
    check_upsample(x, out);
    for (std::int64_t n = 0; n < out.dim(0); ++n) {
        for (std::int64_t c = 0; c < out.dim(1); ++c) {
            for (std::int64_t y = 0; y < out.dim(2); ++y) {
                for (std::int64_t i = 0; i < out.dim(3); ++i) {
                    *f32_at(out, n, c, y, i) = *f32_at(x, n, c, y / 2, i / 2);
                }
            }
        }
    }
}

void convert(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_convert(x, out);
    if (x.dtype == out.dtype) {
        copy_runs(x, out, &pool);
        return;
    }
    const detail::RowKernels& k = detail::row_kernels(isa);
    const auto in_size = static_cast<std::int64_t>(core::dtype_size(x.dtype));
    const auto out_size = static_cast<std::int64_t>(core::dtype_size(out.dtype));
    const core::TensorView o4 = as_4d(out);
    const auto loop = make_strided_loop<2>(o4, {o4, as_4d(x)});
    for_each_run(loop, &pool, [&](const std::array<std::byte*, 2>& p, const std::array<std::int64_t, 2>& s,
                                  std::int64_t n) {
        if (s[0] == out_size && s[1] == in_size) {
            auto* in16 = reinterpret_cast<const std::uint16_t*>(p[1]);
            auto* out16 = reinterpret_cast<std::uint16_t*>(p[0]);
            const auto* in32 = reinterpret_cast<const float*>(p[1]);
            auto* out32 = reinterpret_cast<float*>(p[0]);
            if (x.dtype == ND_DTYPE_F16 && out.dtype == ND_DTYPE_F32) {
                k.f16_to_f32(in16, out32, n);
                return;
            }
            if (x.dtype == ND_DTYPE_BF16 && out.dtype == ND_DTYPE_F32) {
                k.bf16_to_f32(in16, out32, n);
                return;
            }
            if (x.dtype == ND_DTYPE_F32 && out.dtype == ND_DTYPE_F16) {
                k.f32_to_f16(in32, out16, n);
                return;
            }
            if (x.dtype == ND_DTYPE_F32 && out.dtype == ND_DTYPE_BF16) {
                k.f32_to_bf16(in32, out16, n);
                return;
            }
        }
        for (std::int64_t i = 0; i < n; ++i) {
            store_from_f32(out.dtype, p[0] + i * s[0], load_as_f32(x.dtype, p[1] + i * s[1]));
        }
    });
}

void convert_reference(const core::TensorView& x, const core::TensorView& out) {
    check_convert(x, out);
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    for (std::int64_t a = 0; a < o4.dim(0); ++a) {
        for (std::int64_t b = 0; b < o4.dim(1); ++b) {
            for (std::int64_t c = 0; c < o4.dim(2); ++c) {
                for (std::int64_t d = 0; d < o4.dim(3); ++d) {
                    store_from_f32(out.dtype,
                                   o4.data + a * o4.stride(0) + b * o4.stride(1) + c * o4.stride(2) + d * o4.stride(3),
                                   load_as_f32(x.dtype, x4.data + a * x4.stride(0) + b * x4.stride(1) +
                                                            c * x4.stride(2) + d * x4.stride(3)));
                }
            }
        }
    }
}

} // namespace nd::backends::cpu::ops
