#include "backends/cpu/ops/conv2d.hpp"

#include <algorithm>
#include <vector>

#include "backends/cpu/matmul.hpp"
#include "backends/cpu/ops/view_checks.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"

namespace nd::backends::cpu::ops {

namespace {

struct ConvShape {
    std::int64_t n, cin, h, w, cout, oh, ow, k;
    std::int64_t weight_row_stride;
};

ConvShape check(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                const Conv2dParams& p, const core::TensorView& out) {
    const char* op = "conv2d";
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_rank(x, 4, op, "x");
    require_rank(out, 4, op, "out");
    if (p.kernel_h <= 0 || p.kernel_w <= 0 || p.stride <= 0 || p.padding < 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: kernel {}x{}, stride {}, padding {} are not valid",
                          p.kernel_h, p.kernel_w, p.stride, p.padding);
    }
    ConvShape s{};
    s.n = x.dim(0);
    s.cin = x.dim(1);
    s.h = x.dim(2);
    s.w = x.dim(3);
    s.k = s.cin * p.kernel_h * p.kernel_w;
    if (weight.rank == 4) {
        if (weight.dim(1) != s.cin || weight.dim(2) != p.kernel_h || weight.dim(3) != p.kernel_w) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "conv2d: input {} has {} channels but weight {} expects a {}x{} kernel over {}",
                              shape_string(x), s.cin, shape_string(weight), p.kernel_h, p.kernel_w,
                              weight.dim(1));
        }
        const auto element = static_cast<std::int64_t>(core::dtype_size(weight.dtype));
        if (element == 0 || weight.stride(3) != element || weight.stride(2) != element * p.kernel_w ||
            weight.stride(1) != element * p.kernel_w * p.kernel_h) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "conv2d: a 4-D weight {} must be a contiguous F32/F16/BF16 tensor; pass quantized "
                              "weights as [Cout, Cin*kh*kw] rows", shape_string(weight));
        }
    } else if (weight.rank != 2 || weight.dim(1) != s.k) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "conv2d: weight {} must be [Cout, {}] rows or [Cout, {}, {}, {}] for input {}",
                          shape_string(weight), s.k, s.cin, p.kernel_h, p.kernel_w, shape_string(x));
    }
    s.cout = weight.dim(0);
    s.weight_row_stride = weight.stride(0);
    s.oh = (s.h + 2 * p.padding - p.kernel_h) / p.stride + 1;
    s.ow = (s.w + 2 * p.padding - p.kernel_w) / p.stride + 1;
    if (s.oh <= 0 || s.ow <= 0 || out.dim(0) != s.n || out.dim(1) != s.cout || out.dim(2) != s.oh ||
        out.dim(3) != s.ow) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: out {} should be [{}, {}, {}, {}] for input {}",
                          shape_string(out), s.n, s.cout, s.oh, s.ow, shape_string(x));
    }
    if (bias.data != nullptr) {
        require_f32(bias, op, "bias");
        if (bias.rank != 1 || bias.dim(0) != s.cout || bias.stride(0) != 4) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: bias {} must be {} contiguous values",
                              shape_string(bias), s.cout);
        }
    }
    return s;
}

// Patch row for output position (oy, ox) of image n: x[n, ci, oy*s - p + ky, ox*s - p + kx] in ci, ky, kx
// order (the order of the weight's rows), zero outside the image.
void fill_patch(const core::TensorView& x, const Conv2dParams& p, const ConvShape& s, std::int64_t n,
                std::int64_t position, float* row) {
    const std::int64_t oy = position / s.ow;
    const std::int64_t ox = position % s.ow;
    float* dst = row;
    for (std::int64_t ci = 0; ci < s.cin; ++ci) {
        for (int ky = 0; ky < p.kernel_h; ++ky) {
            const std::int64_t iy = oy * p.stride - p.padding + ky;
            for (int kx = 0; kx < p.kernel_w; ++kx) {
                const std::int64_t ix = ox * p.stride - p.padding + kx;
                *dst++ = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w ? *f32_at(x, n, ci, iy, ix) : 0.0f;
            }
        }
    }
}

} // namespace

std::int64_t conv2d_patch_rows(std::int64_t k) {
    constexpr std::int64_t kBudget = 4 << 20; // bytes of patches per tile
    const std::int64_t rows = kBudget / (k * static_cast<std::int64_t>(sizeof(float)));
    return std::clamp<std::int64_t>(rows / 8 * 8, 32, 1024);
}

void conv2d(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
            const Conv2dParams& p, const core::TensorView& out, core::ThreadPool& pool, Isa isa) {
    const ConvShape s = check(x, weight, bias, p, out);
    const std::int64_t positions = s.oh * s.ow;
    const std::int64_t tile = std::min(positions, conv2d_patch_rows(s.k));
    std::vector<float> patches(static_cast<std::size_t>(tile * s.k));
    std::vector<float> result(static_cast<std::size_t>(tile * s.cout)); // [position, cout]

    MatmulArgs args;
    args.n = s.cout;
    args.k = s.k;
    args.a = patches.data();
    args.lda = s.k;
    args.w = weight.data;
    args.w_type = weight.dtype;
    args.w_row_stride = s.weight_row_stride;
    args.bias = bias.data != nullptr ? bias.as<const float>() : nullptr;
    args.c = result.data();
    args.ldc = s.cout;
    for (std::int64_t n = 0; n < s.n; ++n) {
        for (std::int64_t p0 = 0; p0 < positions; p0 += tile) {
            const std::int64_t rows = std::min(tile, positions - p0);
            pool.parallel_for(rows, 8, [&](std::int64_t begin, std::int64_t end, int) {
                for (std::int64_t r = begin; r < end; ++r) {
                    fill_patch(x, p, s, n, p0 + r, patches.data() + r * s.k);
                }
            });
            args.m = rows;
            matmul(args, pool, isa);
            // [position, cout] -> NCHW, one output channel per task.
            pool.parallel_for(s.cout, 4, [&](std::int64_t begin, std::int64_t end, int) {
                for (std::int64_t co = begin; co < end; ++co) {
                    for (std::int64_t r = 0; r < rows; ++r) {
                        const std::int64_t position = p0 + r;
                        *f32_at(out, n, co, position / s.ow, position % s.ow) =
                            result[static_cast<std::size_t>(r * s.cout + co)];
                    }
                }
            });
        }
    }
}

void conv2d_reference(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                      const Conv2dParams& p, const core::TensorView& out) {
    const ConvShape s = check(x, weight, bias, p, out);
    std::vector<float> w(static_cast<std::size_t>(s.cout * s.k));
    const auto row_bytes = core::dtype_row_bytes(weight.dtype, static_cast<std::uint64_t>(s.k));
    for (std::int64_t co = 0; co < s.cout; ++co) {
        quant::dequantize_row(weight.dtype, std::span(weight.data + co * s.weight_row_stride, row_bytes),
                              std::span(w.data() + co * s.k, static_cast<std::size_t>(s.k)));
    }
    for (std::int64_t n = 0; n < s.n; ++n) {
        for (std::int64_t co = 0; co < s.cout; ++co) {
            for (std::int64_t oy = 0; oy < s.oh; ++oy) {
                for (std::int64_t ox = 0; ox < s.ow; ++ox) {
                    double sum = bias.data != nullptr ? bias.as<const float>()[co] : 0.0;
                    for (std::int64_t ci = 0; ci < s.cin; ++ci) {
                        for (int ky = 0; ky < p.kernel_h; ++ky) {
                            for (int kx = 0; kx < p.kernel_w; ++kx) {
                                const std::int64_t iy = oy * p.stride - p.padding + ky;
                                const std::int64_t ix = ox * p.stride - p.padding + kx;
                                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) {
                                    continue;
                                }
                                sum += static_cast<double>(*f32_at(x, n, ci, iy, ix)) *
                                       w[static_cast<std::size_t>(co * s.k + (ci * p.kernel_h + ky) * p.kernel_w + kx)];
                            }
                        }
                    }
                    *f32_at(out, n, co, oy, ox) = static_cast<float>(sum);
                }
            }
        }
    }
}

} // namespace nd::backends::cpu::ops
