#include "backends/cpu/ops/elementwise.hpp"

#include <algorithm>
#include <cmath>

#include "backends/cpu/ops/view_checks.hpp"

namespace nd::backends::cpu::ops {

namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

// Broadcast shape of a and b as 4-D views, or an error naming both shapes.
void check_broadcast(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
                     const char* op) {
    require_f32(a, op, "a");
    require_f32(b, op, "b");
    require_f32(out, op, "out");
    const core::TensorView a4 = as_4d(a);
    const core::TensorView b4 = as_4d(b);
    const core::TensorView o4 = as_4d(out);
    const int rank = std::max(a.rank, b.rank);
    for (int d = 0; d < core::kMaxDims; ++d) {
        const std::int64_t x = a4.dim(d);
        const std::int64_t y = b4.dim(d);
        if (x != y && x != 1 && y != 1) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: shapes {} and {} do not broadcast", op,
                              shape_string(a), shape_string(b));
        }
        if (o4.dim(d) != std::max(x, y) || out.rank != rank) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: out {} is not the broadcast shape of {} and {}", op,
                              shape_string(out), shape_string(a), shape_string(b));
        }
    }
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

const char* binary_name(BinaryOp op) {
    switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    }
    return "binary";
}

// Calls row(out_row, a_row, b_row, a_step, b_step, n) for each innermost row of the broadcast; steps are in
// floats (0 for a broadcast operand). Rows are split across the pool when one is given.
template <typename Row>
void for_rows(const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
              core::ThreadPool* pool, Row row) {
    const core::TensorView a4 = as_4d(a);
    const core::TensorView b4 = as_4d(b);
    const core::TensorView o4 = as_4d(out);
    auto stride = [](const core::TensorView& v, int d) { return v.dim(d) == 1 ? 0 : v.stride(d); };
    const std::int64_t n = o4.dim(3);
    const std::int64_t rows = o4.dim(0) * o4.dim(1) * o4.dim(2);
    const std::int64_t a_step = stride(a4, 3) / 4;
    const std::int64_t b_step = stride(b4, 3) / 4;
    const std::int64_t o_step = o4.stride(3) / 4;
    auto run = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::int64_t i2 = r % o4.dim(2);
            const std::int64_t i1 = (r / o4.dim(2)) % o4.dim(1);
            const std::int64_t i0 = r / (o4.dim(2) * o4.dim(1));
            const float* pa = reinterpret_cast<const float*>(a4.data + i0 * stride(a4, 0) + i1 * stride(a4, 1) +
                                                             i2 * stride(a4, 2));
            const float* pb = reinterpret_cast<const float*>(b4.data + i0 * stride(b4, 0) + i1 * stride(b4, 1) +
                                                             i2 * stride(b4, 2));
            float* po = f32_at(o4, i0, i1, i2, 0);
            row(po, o_step, pa, a_step, pb, b_step, n);
        }
    };
    if (pool == nullptr) {
        run(0, rows);
    } else {
        // Enough rows per chunk that a chunk is worth a task (~16k elements).
        const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(n, 1));
        pool->parallel_for(rows, grain, [&](std::int64_t begin, std::int64_t end, int) { run(begin, end); });
    }
}

template <typename Fn>
void unary_rows(const core::TensorView& x, const core::TensorView& out, core::ThreadPool* pool, Fn fn) {
    for_rows(x, x, out, pool,
             [&](float* o, std::int64_t os, const float* a, std::int64_t as, const float*, std::int64_t,
                 std::int64_t n) {
                 if (os == 1 && as == 1) { // the common contiguous case, written so the compiler vectorises it
                     for (std::int64_t i = 0; i < n; ++i) {
                         o[i] = fn(a[i]);
                     }
                 } else {
                     for (std::int64_t i = 0; i < n; ++i) {
                         o[i * os] = fn(a[i * as]);
                     }
                 }
             });
}

void check_unary(const core::TensorView& x, const core::TensorView& out, const char* op) {
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_same_shape(x, out, op, "x", "out");
}

float activate(Activation kind, float v) {
    switch (kind) {
    case Activation::Silu: return v / (1.0f + std::exp(-v));
    case Activation::GeluErf: return 0.5f * v * (1.0f + std::erf(v * static_cast<float>(kSqrtHalf)));
    case Activation::GeluTanh:
        return 0.5f * v * (1.0f + std::tanh(static_cast<float>(kSqrt2OverPi) * (v + 0.044715f * v * v * v)));
    case Activation::QuickGelu: return v / (1.0f + std::exp(-1.702f * v));
    }
    return v;
}

double activate_double(Activation kind, double v) {
    switch (kind) {
    case Activation::Silu: return v / (1.0 + std::exp(-v));
    case Activation::GeluErf: return 0.5 * v * (1.0 + std::erf(v * kSqrtHalf));
    case Activation::GeluTanh: return 0.5 * v * (1.0 + std::tanh(kSqrt2OverPi * (v + 0.044715 * v * v * v)));
    case Activation::QuickGelu: return v / (1.0 + std::exp(-1.702 * v));
    }
    return v;
}

void check_geglu(const core::TensorView& x, const core::TensorView& out) {
    require_f32(x, "geglu", "x");
    require_f32(out, "geglu", "out");
    bool ok = x.rank == out.rank && x.rank > 0 && x.dim(x.rank - 1) == 2 * out.dim(out.rank - 1);
    for (int d = 0; ok && d + 1 < x.rank; ++d) {
        ok = x.dim(d) == out.dim(d);
    }
    if (!ok) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "geglu: out {} must be x {} with the last dimension halved",
                          shape_string(out), shape_string(x));
    }
}

// The first half of x's last dimension as a view with out's shape; the second half is `offset` bytes further.
core::TensorView geglu_half(const core::TensorView& x, const core::TensorView& out) {
    core::TensorView half = x;
    half.shape = out.shape;
    return half;
}

} // namespace

void binary(BinaryOp op, const core::TensorView& a, const core::TensorView& b, const core::TensorView& out,
            core::ThreadPool& pool, Isa) {
    check_broadcast(a, b, out, binary_name(op));
    for_rows(a, b, out, &pool,
             [op](float* o, std::int64_t os, const float* x, std::int64_t xs, const float* y, std::int64_t ys,
                  std::int64_t n) {
                 if (os == 1 && xs == 1 && ys == 1) {
                     switch (op) { // one loop per op so that each vectorises
                     case BinaryOp::Add: for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] + y[i]; break;
                     case BinaryOp::Sub: for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] - y[i]; break;
                     case BinaryOp::Mul: for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] * y[i]; break;
                     case BinaryOp::Div: for (std::int64_t i = 0; i < n; ++i) o[i] = x[i] / y[i]; break;
                     }
                     return;
                 }
                 for (std::int64_t i = 0; i < n; ++i) {
                     o[i * os] = apply(op, x[i * xs], y[i * ys]);
                 }
             });
}

void binary_reference(BinaryOp op, const core::TensorView& a, const core::TensorView& b,
                      const core::TensorView& out) {
    check_broadcast(a, b, out, binary_name(op));
    for_rows(a, b, out, nullptr,
             [op](float* o, std::int64_t os, const float* x, std::int64_t xs, const float* y, std::int64_t ys,
                  std::int64_t n) {
                 for (std::int64_t i = 0; i < n; ++i) {
                     o[i * os] = apply(op, x[i * xs], y[i * ys]);
                 }
             });
}

void scale(const core::TensorView& x, float s, float shift, const core::TensorView& out, core::ThreadPool& pool,
           Isa) {
    check_unary(x, out, "scale");
    unary_rows(x, out, &pool, [=](float v) { return v * s + shift; });
}

void scale_reference(const core::TensorView& x, float s, float shift, const core::TensorView& out) {
    check_unary(x, out, "scale");
    unary_rows(x, out, nullptr, [=](float v) { return v * s + shift; });
}

void clamp(const core::TensorView& x, float lo, float hi, const core::TensorView& out, core::ThreadPool& pool,
           Isa) {
    check_unary(x, out, "clamp");
    unary_rows(x, out, &pool, [=](float v) { return std::min(std::max(v, lo), hi); });
}

void clamp_reference(const core::TensorView& x, float lo, float hi, const core::TensorView& out) {
    check_unary(x, out, "clamp");
    unary_rows(x, out, nullptr, [=](float v) { return std::min(std::max(v, lo), hi); });
}

void activation(Activation kind, const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool,
                Isa) {
    check_unary(x, out, "activation");
    unary_rows(x, out, &pool, [kind](float v) { return activate(kind, v); });
}

void activation_reference(Activation kind, const core::TensorView& x, const core::TensorView& out) {
    check_unary(x, out, "activation");
    unary_rows(x, out, nullptr, [kind](float v) { return static_cast<float>(activate_double(kind, v)); });
}

void geglu(const core::TensorView& x, const core::TensorView& out, core::ThreadPool& pool, Isa) {
    check_geglu(x, out);
    const core::TensorView a = geglu_half(x, out);
    core::TensorView g = a;
    g.data += out.dim(out.rank - 1) * x.stride(x.rank - 1);
    for_rows(a, g, out, &pool,
             [](float* o, std::int64_t os, const float* av, std::int64_t as, const float* gv, std::int64_t gs,
                std::int64_t n) {
                 for (std::int64_t i = 0; i < n; ++i) {
                     o[i * os] = av[i * as] * activate(Activation::GeluErf, gv[i * gs]);
                 }
             });
}

void geglu_reference(const core::TensorView& x, const core::TensorView& out) {
    check_geglu(x, out);
    const core::TensorView a = geglu_half(x, out);
    core::TensorView g = a;
    g.data += out.dim(out.rank - 1) * x.stride(x.rank - 1);
    for_rows(a, g, out, nullptr,
             [](float* o, std::int64_t os, const float* av, std::int64_t as, const float* gv, std::int64_t gs,
                std::int64_t n) {
                 for (std::int64_t i = 0; i < n; ++i) {
                     o[i * os] = static_cast<float>(av[i * as] * activate_double(Activation::GeluErf, gv[i * gs]));
                 }
             });
}

} // namespace nd::backends::cpu::ops
