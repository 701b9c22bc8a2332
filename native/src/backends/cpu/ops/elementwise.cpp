#include "backends/cpu/ops/elementwise.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/strided_loop.hpp"
#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr std::int64_t kF32 = sizeof(float);

const char* binary_name(BinaryOp op) {
    switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    }
    return "binary";
}

const char* activation_name(Activation kind) {
    switch (kind) {
    case Activation::Silu: return "silu";
    case Activation::GeluErf: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::QuickGelu: return "quick_gelu";
    }
    return "activation";
}

void require_rank_at_most_4(const core::TensorView& v, const char* op, const char* name) {
    if (v.rank < 0 || v.rank > core::kMaxDims) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: {} has rank {}; 0 to 4 are supported", op, name, v.rank);
    }
}

// NumPy broadcasting: trailing dimensions aligned, a size of 1 stretches; out must have the broadcast shape.
void check_broadcast(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                     const char* op) {
    require_f32(a, op, "a");
    require_f32(b, op, "b");
    require_f32(out, op, "out");
    require_rank_at_most_4(a, op, "a");
    require_rank_at_most_4(b, op, "b");
    require_rank_at_most_4(out, op, "out");
    const core::TensorView a4 = as_4d(a);
    const core::TensorView b4 = as_4d(b);
    const core::TensorView o4 = as_4d(out);
    for (int d = 0; d < core::kMaxDims; ++d) {
        const std::int64_t x = a4.dim(d);
        const std::int64_t y = b4.dim(d);
        if (x != y && x != 1 && y != 1) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: shapes {} and {} do not broadcast", op,
                              shape_string(a), shape_string(b));
        }
    }
    for (int d = 0; d < core::kMaxDims; ++d) {
        const std::int64_t x = a4.dim(d);
        const std::int64_t y = b4.dim(d);
        const std::int64_t expected = x == 1 ? y : x;
        if (o4.dim(d) != expected || out.rank != std::max(a.rank, b.rank)) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: out {} is not the broadcast shape of {} and {}", op,
                              shape_string(out), shape_string(a), shape_string(b));
        }
    }
}

void check_unary(const core::TensorView& x, const core::TensorView& out, const char* op) {
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_rank_at_most_4(x, op, "x");
    require_same_shape(x, out, op, "x", "out");
}

float apply(BinaryOp op, float x, float y) {
    switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
    }
    return 0.0f;
}

double activate(Activation kind, double v) {
    switch (kind) {
    case Activation::Silu: return v / (1.0 + std::exp(-v));
    // 1 + erf(-z) and 1 + tanh(-y) cancel for large negative inputs even in double; erfc and the identity
    // (1 + tanh(y)) / 2 = 1 / (1 + e^(-2y)) keep every digit.
    case Activation::GeluErf: return 0.5 * v * std::erfc(-v * kSqrtHalf);
    case Activation::GeluTanh: return v / (1.0 + std::exp(-2.0 * kSqrt2OverPi * (v + 0.044715 * v * v * v)));
    case Activation::QuickGelu: return v / (1.0 + std::exp(-1.702 * v));
    }
    return v;
}

const float* cf(const std::byte* p) {
    return reinterpret_cast<const float*>(p);
}
float* mf(std::byte* p) {
    return reinterpret_cast<float*>(p);
}

// Strided runs are gathered into a small buffer, processed by the same row kernel and scattered back, so
// strided and contiguous inputs get bit-identical results.
constexpr std::int64_t kGather = 256;

// Runs of out = row(x) over strided views.
template <typename Row>
void unary_runs(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Row row) {
    const auto loop = make_strided_loop<2>(as_4d(out), {as_4d(out), as_4d(x)});
    for_each_run(loop, &pool, [&](const std::array<std::byte*, 2>& p, const std::array<std::int64_t, 2>& s,
                                  std::int64_t n) {
        if (s[0] == kF32 && s[1] == kF32) {
            row(cf(p[1]), mf(p[0]), n);
            return;
        }
        float buffer[kGather];
        for (std::int64_t i0 = 0; i0 < n; i0 += kGather) {
            const std::int64_t count = std::min(kGather, n - i0);
            for (std::int64_t i = 0; i < count; ++i) {
                buffer[i] = *cf(p[1] + (i0 + i) * s[1]);
            }
            row(buffer, buffer, count);
            for (std::int64_t i = 0; i < count; ++i) {
                *mf(p[0] + (i0 + i) * s[0]) = buffer[i];
            }
        }
    });
}

// The references: one element at a time over the 4-D index space, no run merging.
template <typename Fn>
void for_each_index(const core::TensorView& shape, Fn fn) {
    const core::TensorView s = as_4d(shape);
    for (std::int64_t i0 = 0; i0 < s.dim(0); ++i0) {
        for (std::int64_t i1 = 0; i1 < s.dim(1); ++i1) {
            for (std::int64_t i2 = 0; i2 < s.dim(2); ++i2) {
                for (std::int64_t i3 = 0; i3 < s.dim(3); ++i3) {
                    fn(i0, i1, i2, i3);
                }
            }
        }
    }
}

// Element (i0..i3) of a 4-D view that may be broadcast (size-1 dimensions read index 0).
float broadcast_at(const core::TensorView& v4, std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
    return *f32_at(v4, v4.dim(0) == 1 ? 0 : i0, v4.dim(1) == 1 ? 0 : i1, v4.dim(2) == 1 ? 0 : i2,
                   v4.dim(3) == 1 ? 0 : i3);
}

template <typename Fn>
void unary_reference(const core::TensorView& x, const core::TensorView& out, Fn fn) {
    const core::TensorView x4 = as_4d(x);
    const core::TensorView o4 = as_4d(out);
    for_each_index(out, [&](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
        *f32_at(o4, a, b, c, d) = fn(*f32_at(x4, a, b, c, d));
    });
}

void check_geglu(const core::TensorView& x, const core::TensorView& out) {
    require_f32(x, "geglu", "x");
    require_f32(out, "geglu", "out");
    require_rank_at_most_4(x, "geglu", "x");
    bool ok = x.rank == out.rank && x.rank > 0 && x.dim(x.rank - 1) == 2 * out.dim(out.rank - 1);
    for (int d = 0; ok && d + 1 < x.rank; ++d) {
        ok = x.dim(d) == out.dim(d);
    }
    if (!ok) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "geglu: out {} must be x {} with the last dimension halved",
                          shape_string(out), shape_string(x));
    }
}

// The halves of x's last dimension as views with out's shape.
std::array<core::TensorView, 2> geglu_halves(const core::TensorView& x, const core::TensorView& out) {
    core::TensorView a = x;
    a.shape = out.shape;
    core::TensorView g = a;
    g.data += out.dim(out.rank - 1) * x.stride(x.rank - 1);
    return {a, g};
}

} // namespace

void binary(BinaryOp op, const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
            core::ThreadPool& pool, Isa isa) {
    check_broadcast(a, b, out, binary_name(op));
    const detail::RowKernels& k = detail::row_kernels(isa);
    const core::TensorView o4 = as_4d(out);
    const auto loop = make_strided_loop<3>(o4, {o4, as_4d(a), as_4d(b)});
    for_each_run(loop, &pool, [&](const std::array<std::byte*, 3>& p, const std::array<std::int64_t, 3>& s,
                                  std::int64_t n) {
        if (s[0] == kF32 && (s[1] == kF32 || s[1] == 0) && (s[2] == kF32 || s[2] == 0)) {
            k.binary(op, cf(p[1]), s[1] == 0, cf(p[2]), s[2] == 0, mf(p[0]), n);
            return;
        }
        for (std::int64_t i = 0; i < n; ++i) {
            *mf(p[0] + i * s[0]) = apply(op, *cf(p[1] + i * s[1]), *cf(p[2] + i * s[2]));
        }
    });
}

void binary_reference(BinaryOp op, const core::TensorView& a, const core::TensorView& b,
                      const core::TensorView& out) {
    check_broadcast(a, b, out, binary_name(op));
    const core::TensorView a4 = as_4d(a);
    const core::TensorView b4 = as_4d(b);
    const core::TensorView o4 = as_4d(out);
    for_each_index(out, [&](std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
        *f32_at(o4, i0, i1, i2, i3) = apply(op, broadcast_at(a4, i0, i1, i2, i3), broadcast_at(b4, i0, i1, i2, i3));
    });
}

void scale(const core::TensorView& x, float s, float shift, const core::TensorView& out, core::ThreadPool& pool,
           Isa isa) {
    check_unary(x, out, "scale");
    const detail::RowKernels& k = detail::row_kernels(isa);
    unary_runs(x, out, pool, [&](const float* in, float* o, std::int64_t n) { k.scale(in, o, n, s, shift); });
}

void scale_reference(const core::TensorView& x, float s, float shift, const core::TensorView& out) {
    check_unary(x, out, "scale");
    unary_reference(x, out, [=](float v) {
        const float product = v * s; // two roundings, as PyTorch's x * s + b
        return product + shift;
    });
}

void clamp(const core::TensorView& x, float lo, float hi, const core::TensorView& out, core::ThreadPool& pool,
           Isa isa) {
    check_unary(x, out, "clamp");
    const detail::RowKernels& k = detail::row_kernels(isa);
    unary_runs(x, out, pool, [&](const float* in, float* o, std::int64_t n) { k.clamp(in, o, n, lo, hi); });
}

void clamp_reference(const core::TensorView& x, float lo, float hi, const core::TensorView& out) {
    check_unary(x, out, "clamp");
    unary_reference(x, out, [=](float v) { return v < lo ? lo : (v > hi ? hi : v); });
}

void activation(Activation kind, const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                Isa isa) {
    check_unary(x, out, activation_name(kind));
    const detail::RowKernels& k = detail::row_kernels(isa);
    unary_runs(x, out, pool, [&](const float* in, float* o, std::int64_t n) { k.activation(kind, in, o, n); });
}

void activation_reference(Activation kind, const core::TensorView& x, const core::TensorView& out) {
    check_unary(x, out, activation_name(kind));
    unary_reference(x, out, [kind](float v) { return static_cast<float>(activate(kind, v)); });
}

void geglu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    check_geglu(x, out);
    const auto [a, g] = geglu_halves(x, out);
    const detail::RowKernels& k = detail::row_kernels(isa);
    const core::TensorView o4 = as_4d(out);
    const auto loop = make_strided_loop<3>(o4, {o4, as_4d(a), as_4d(g)});
    for_each_run(loop, &pool, [&](const std::array<std::byte*, 3>& p, const std::array<std::int64_t, 3>& s,
                                  std::int64_t n) {
        if (s[0] == kF32 && s[1] == kF32 && s[2] == kF32) {
            k.geglu(cf(p[1]), cf(p[2]), mf(p[0]), n);
            return;
        }
        float a_buffer[kGather];
        float g_buffer[kGather];
        for (std::int64_t i0 = 0; i0 < n; i0 += kGather) {
            const std::int64_t count = std::min(kGather, n - i0);
            for (std::int64_t i = 0; i < count; ++i) {
                a_buffer[i] = *cf(p[1] + (i0 + i) * s[1]);
                g_buffer[i] = *cf(p[2] + (i0 + i) * s[2]);
            }
            k.geglu(a_buffer, g_buffer, a_buffer, count);
            for (std::int64_t i = 0; i < count; ++i) {
                *mf(p[0] + (i0 + i) * s[0]) = a_buffer[i];
            }
        }
    });
}

void geglu_reference(const core::TensorView& x, const core::TensorView& out) {
    check_geglu(x, out);
    const auto [a, g] = geglu_halves(x, out);
    const core::TensorView a4 = as_4d(a);
    const core::TensorView g4 = as_4d(g);
    const core::TensorView o4 = as_4d(out);
    for_each_index(out, [&](std::int64_t i0, std::int64_t i1, std::int64_t i2, std::int64_t i3) {
        *f32_at(o4, i0, i1, i2, i3) = static_cast<float>(
            *f32_at(a4, i0, i1, i2, i3) * activate(Activation::GeluErf, *f32_at(g4, i0, i1, i2, i3)));
    });
}

} // namespace nd::backends::cpu::ops
