// conv2d(): im2col tiles + matmul() + a blocked transpose into NCHW (see conv2d.hpp for the layout choice and
// the memory bound); conv2d_reference(): the direct seven loops in double.
#include "backends/cpu/ops/conv2d.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "backends/cpu/gemm/packed_weights.hpp"
#include "backends/cpu/matmul.hpp"
#include "backends/cpu/ops/row_kernels.hpp"
#include "backends/cpu/ops/view_checks.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"

namespace nd::backends::cpu::ops {

namespace {

constexpr std::int64_t kTileBudget = std::int64_t{4} << 20; // bytes of patches (or of C) per tile

struct ConvShape {
    std::int64_t n, cin, h, w, cout, oh, ow, k;
    int kh, kw, sh, sw, ph, pw, dh, dw;
    std::int64_t weight_row_stride;
};

ConvShape check(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                const Conv2dParams& p, const core::TensorView& out) {
    const char* op = "conv2d";
    require_f32(x, op, "x");
    require_f32(out, op, "out");
    require_rank(x, 4, op, "x");
    require_rank(out, 4, op, "out");
    ConvShape s{};
    s.kh = p.kernel_h;
    s.kw = p.kernel_w;
    s.sh = p.stride;
    s.sw = p.stride_w > 0 ? p.stride_w : p.stride;
    s.ph = p.padding;
    s.pw = p.padding_w >= 0 ? p.padding_w : p.padding;
    s.dh = p.dilation_h;
    s.dw = p.dilation_w;
    if (s.kh <= 0 || s.kw <= 0 || s.sh <= 0 || s.sw <= 0 || s.ph < 0 || s.pw < 0 || s.dh <= 0 || s.dw <= 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "conv2d: kernel {}x{}, stride {}x{}, padding {}x{}, dilation {}x{} are not valid", s.kh, s.kw,
                          s.sh, s.sw, s.ph, s.pw, s.dh, s.dw);
    }
    s.n = x.dim(0);
    s.cin = x.dim(1);
    s.h = x.dim(2);
    s.w = x.dim(3);
    s.k = s.cin * s.kh * s.kw;
    if (weight.rank == 4) {
        if (weight.dim(1) != s.cin || weight.dim(2) != s.kh || weight.dim(3) != s.kw) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "conv2d: input {} has {} channels but weight {} expects a {}x{} kernel over {}",
                              shape_string(x), s.cin, shape_string(weight), s.kh, s.kw, weight.dim(1));
        }
        const auto element = static_cast<std::int64_t>(core::dtype_size(weight.dtype));
        if (core::dtype_is_quantized(weight.dtype) || element == 0 || weight.stride(3) != element ||
            weight.stride(2) != element * s.kw || weight.stride(1) != element * s.kw * s.kh) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "conv2d: a 4-D weight {} must be a contiguous F32/F16/BF16 tensor; pass quantized "
                              "weights as [Cout, Cin*kh*kw] rows", shape_string(weight));
        }
    } else if (weight.rank != 2 || weight.dim(1) != s.k) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "conv2d: weight {} must be [Cout, {}] rows or [Cout, {}, {}, {}] for input {}",
                          shape_string(weight), s.k, s.cin, s.kh, s.kw, shape_string(x));
    }
    s.cout = weight.dim(0);
    s.weight_row_stride = weight.stride(0);
    s.oh = (s.h + 2 * s.ph - s.dh * (s.kh - 1) - 1) / s.sh + 1;
    s.ow = (s.w + 2 * s.pw - s.dw * (s.kw - 1) - 1) / s.sw + 1;
    if (s.h + 2 * s.ph < s.dh * (s.kh - 1) + 1 || s.w + 2 * s.pw < s.dw * (s.kw - 1) + 1) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: input {} is smaller than the {}x{} kernel",
                          shape_string(x), s.kh, s.kw);
    }
    if (out.dim(0) != s.n || out.dim(1) != s.cout || out.dim(2) != s.oh || out.dim(3) != s.ow) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: out {} should be [{}, {}, {}, {}] for input {} and weight {}",
                          shape_string(out), s.n, s.cout, s.oh, s.ow, shape_string(x), shape_string(weight));
    }
    if (bias.data != nullptr && (bias.rank != 1 || bias.dim(0) != s.cout)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "conv2d: bias {} must have {} elements (weight {})",
                          shape_string(bias), s.cout, shape_string(weight));
    }
    return s;
}

// Whether positions p = y·cols + x of a [*, C, rows, cols] view are rows of C floats: channel stride one float
// and position stride uniform. Sets `ld` to the floats between consecutive positions.
bool channels_last(const core::TensorView& v, std::int64_t& ld) {
    const std::int64_t c = v.dim(1);
    const std::int64_t rows = v.dim(2);
    const std::int64_t cols = v.dim(3);
    if (c > 1 && v.stride(1) != 4) {
        return false;
    }
    const std::int64_t step = cols > 1 ? v.stride(3) : v.stride(2);
    if (step % 4 != 0 || step / 4 < c || (rows > 1 && cols > 1 && v.stride(2) != cols * v.stride(3))) {
        return false;
    }
    ld = step / 4;
    return true;
}

// im2col rows for output positions [p_begin, p_end) of image n into dst ([p_end - p_begin, K] floats):
// row p holds x[n, ci, oy·sh - ph + ky·dh, ox·sw - pw + kx·dw] in ci, ky, kx order (the order of the weight
// rows), zero outside the image. The loops run (ci, ky) outermost and positions inside, so that one input
// row is read front to back while the destination rows' current cache lines (one per position, a few
// hundred at most per call) stay in L1 and fill up kw floats at a time. KW > 0: the kernel width known at
// compile time (3, 1).
template <int KW>
void fill_patches(const core::TensorView& x, const ConvShape& s, std::int64_t n, std::int64_t p_begin,
                  std::int64_t p_end, float* dst, const detail::RowKernels& k) {
    const int kw = KW > 0 ? KW : s.kw;
    const std::int64_t sx = x.stride(3);
    const bool unit_x = sx == 4 && s.dw == 1;
    // SD's 3x3 stride-1 convolutions: a vector kernel writes each position's three floats at once (plus one
    // that the next (ci, ky) overwrites; the very last one writes exactly).
    const bool spread3 = KW == 3 && unit_x && s.sw == 1;
    const std::byte* image = x.data + n * x.stride(0);
    for (std::int64_t ci = 0; ci < s.cin; ++ci) {
        const std::byte* plane = image + ci * x.stride(1);
        for (int ky = 0; ky < s.kh; ++ky) {
            float* column = dst + (ci * s.kh + ky) * kw; // this (ci, ky)'s kw floats in every row
            std::int64_t p = p_begin;
            while (p < p_end) {
                const std::int64_t oy = p / s.ow;
                const std::int64_t ox_begin = p % s.ow;
                const std::int64_t ox_end = std::min(s.ow, ox_begin + (p_end - p));
                const std::int64_t iy = oy * s.sh - s.ph + ky * s.dh;
                float* out = column + (p - p_begin) * s.k;
                if (iy < 0 || iy >= s.h) {
                    for (std::int64_t ox = ox_begin; ox < ox_end; ++ox, out += s.k) {
                        for (int kx = 0; kx < kw; ++kx) {
                            out[kx] = 0.0f;
                        }
                    }
                } else {
                    const std::byte* row = plane + iy * x.stride(2);
                    // Positions whose whole kernel row is inside the image: ox·sw - pw >= 0 and
                    // ox·sw - pw + (kw - 1)·dw < w.
                    const std::int64_t inner_begin = std::clamp<std::int64_t>((s.pw + s.sw - 1) / s.sw, ox_begin, ox_end);
                    const std::int64_t last = s.w - 1 - (kw - 1) * s.dw + s.pw; // ox·sw <= last
                    const std::int64_t inner_end = last < 0 ? inner_begin : std::clamp<std::int64_t>(last / s.sw + 1, inner_begin, ox_end);
                    auto edge = [&](std::int64_t ox) {
                        for (int kx = 0; kx < kw; ++kx) {
                            const std::int64_t ix = ox * s.sw - s.pw + kx * s.dw;
                            out[kx] = ix >= 0 && ix < s.w ? *reinterpret_cast<const float*>(row + ix * sx) : 0.0f;
                        }
                        out += s.k;
                    };
                    std::int64_t ox = ox_begin;
                    for (; ox < inner_begin; ++ox) {
                        edge(ox);
                    }
                    if (spread3) {
                        const bool last_column = ci == s.cin - 1 && ky == s.kh - 1;
                        const std::int64_t count = inner_end - ox;
                        k.im2col3(reinterpret_cast<const float*>(row) - s.pw + ox, out, s.k, count, last_column);
                        out += count * s.k;
                        ox = inner_end;
                    } else if (unit_x) {
                        const float* src = reinterpret_cast<const float*>(row) - s.pw;
                        for (; ox < inner_end; ++ox, out += s.k) {
                            const float* in = src + ox * s.sw;
                            for (int kx = 0; kx < kw; ++kx) {
                                out[kx] = in[kx];
                            }
                        }
                    }
                    for (; ox < ox_end; ++ox) {
                        edge(ox);
                    }
                }
                p += ox_end - ox_begin;
            }
        }
    }
}

using FillFn = void (*)(const core::TensorView&, const ConvShape&, std::int64_t, std::int64_t, std::int64_t, float*,
                        const detail::RowKernels&);

FillFn fill_function(const ConvShape& s) {
    if (s.kw == 3) {
        return &fill_patches<3>;
    }
    if (s.kw == 1) {
        return &fill_patches<1>;
    }
    return &fill_patches<0>;
}

// C tile [rows, cout] (ldc floats apart) -> out[n, :, positions p0 .. p0 + rows): register-blocked transposes
// when each channel's positions are contiguous in out, element by element otherwise.
void scatter_tile(const float* c, std::int64_t ldc, std::int64_t rows, const ConvShape& s, std::int64_t n,
                  std::int64_t p0, const core::TensorView& out, core::ThreadPool& pool, const detail::RowKernels& k) {
    constexpr std::int64_t kBlock = 32; // channels per task
    const bool packed_positions = out.stride(3) == 4 && (s.oh == 1 || out.stride(2) == s.ow * 4) &&
                                  out.stride(1) % 4 == 0;
    const std::int64_t blocks = (s.cout + kBlock - 1) / kBlock;
    pool.parallel_for(blocks, 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t blk = begin; blk < end; ++blk) {
            const std::int64_t co0 = blk * kBlock;
            const std::int64_t count = std::min(kBlock, s.cout - co0);
            if (packed_positions) {
                float* dst = reinterpret_cast<float*>(out.data + n * out.stride(0) + co0 * out.stride(1)) + p0;
                k.transpose(c + co0, ldc, dst, out.stride(1) / 4, rows, count);
                continue;
            }
            for (std::int64_t r = 0; r < rows; ++r) {
                const std::int64_t p = p0 + r;
                const float* src = c + r * ldc + co0;
                for (std::int64_t j = 0; j < count; ++j) {
                    *f32_at(out, n, co0 + j, p / s.ow, p % s.ow) = src[j];
                }
            }
        }
    });
}

// How one call runs: whether A is x itself (1x1, stride 1, no padding, channels-last x), whether C is out
// itself (channels-last out), and the tile rows.
struct Plan {
    bool direct_a = false;
    bool direct_c = false;
    std::int64_t lda = 0;
    std::int64_t ldc = 0;
    std::int64_t tile = 0;
};

Plan plan(const ConvShape& s, const core::TensorView& x, const core::TensorView& out) {
    Plan p;
    p.direct_a = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0 && s.dh == 1 &&
                 s.dw == 1 && channels_last(x, p.lda);
    p.direct_c = channels_last(out, p.ldc);
    p.tile = s.oh * s.ow;
    if (!p.direct_a) {
        p.tile = std::min(p.tile, conv2d_patch_rows(s.k));
    }
    if (!p.direct_c) {
        p.tile = std::min(p.tile, conv2d_patch_rows(s.cout));
    }
    p.tile = std::max<std::int64_t>(p.tile, 1);
    return p;
}

} // namespace

std::int64_t conv2d_patch_rows(std::int64_t k) {
    const std::int64_t rows = kTileBudget / (std::max<std::int64_t>(k, 1) * static_cast<std::int64_t>(sizeof(float)));
    return std::clamp<std::int64_t>(rows / 8 * 8, 32, 1024);
}

std::int64_t conv2d_scratch_bytes(const core::TensorView& x, const core::TensorView& weight,
                                  const Conv2dParams& params, const core::TensorView& out) {
    const ConvShape s = check(x, weight, core::TensorView{}, params, out);
    const Plan p = plan(s, x, out);
    return (p.direct_a ? 0 : p.tile * s.k * 4) + (p.direct_c ? 0 : p.tile * s.cout * 4);
}

void conv2d(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
            const Conv2dParams& params, const core::TensorView& out, core::ThreadPool& pool, Isa isa,
            const PrepackedWeights* prepacked) {
    const ConvShape s = check(x, weight, bias, params, out);
    std::vector<float> bias_storage;
    const float* bias_f32 = f32_parameter(bias, s.cout, "conv2d", "bias", bias_storage);
    const Plan pl = plan(s, x, out);
    const std::int64_t positions = s.oh * s.ow;
    const std::int64_t tile = pl.tile;
    // Uninitialised (every patch and C element is written before it is read).
    const auto patches = std::make_unique_for_overwrite<float[]>(pl.direct_a ? 0 : static_cast<std::size_t>(tile * s.k));
    const auto result = std::make_unique_for_overwrite<float[]>(pl.direct_c ? 0 : static_cast<std::size_t>(tile * s.cout));
    const FillFn fill = fill_function(s);
    // 1x1, stride 1, no padding, each channel's positions contiguous in x (NCHW).
    const bool pointwise_packed = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0 &&
                                  x.stride(3) == 4 && (s.h == 1 || x.stride(2) == s.w * 4) && x.stride(1) % 4 == 0;
    const detail::RowKernels& kernels = detail::row_kernels(isa);

    // F32/F16/BF16 weights over several tiles are packed once for the whole call (matmul() would repack them
    // for every tile); block-quantized weights go through matmul(), which packs its own panels.
    const std::int64_t tiles = s.n * ((positions + tile - 1) / tile);
    const bool float_weights = weight.dtype == ND_DTYPE_F32 || weight.dtype == ND_DTYPE_F16 || weight.dtype == ND_DTYPE_BF16;
    gemm::PackedWeights packed;
    if (prepacked == nullptr && float_weights && tiles > 1) {
        packed = gemm::pack_weights(weight.data, weight.dtype, s.cout, s.k, s.weight_row_stride, pool, isa);
    }
    auto multiply = [&](const MatmulArgs& a) {
        if (packed.empty()) {
            matmul(a, pool, isa);
            return;
        }
        gemm::PackedMatmulArgs pa;
        pa.m = a.m;
        pa.a = a.a;
        pa.lda = a.lda;
        pa.bias = a.bias;
        pa.c = a.c;
        pa.ldc = a.ldc;
        gemm::matmul_packed(pa, packed, pool);
    };

    MatmulArgs args;
    args.n = s.cout;
    args.k = s.k;
    args.w = weight.data;
    args.w_type = weight.dtype;
    args.w_row_stride = s.weight_row_stride;
    args.bias = bias_f32;
    args.prepacked = prepacked;
    // Patch rows [b, e) of image n's positions from p0 into dst.
    auto gather = [&](std::int64_t n, std::int64_t p0, std::int64_t b, std::int64_t e, float* dst) {
        if (pointwise_packed) { // a 1x1 convolution's patches are x's [Cin, positions] block transposed
            const float* plane = reinterpret_cast<const float*>(x.data + n * x.stride(0)) + p0;
            kernels.transpose(plane + b, x.stride(1) / 4, dst + b * s.k, s.k, s.cin, e - b);
        } else {
            fill(x, s, n, p0 + b, p0 + e, dst + b * s.k, kernels);
        }
    };
    // At least 32 positions per task: each pass over an input row then fills 32 patch rows.
    const std::int64_t grain = pointwise_packed ? 64 : 32;

    // Small images (the UNet's 8x8 and 16x16 levels, where the weights are largest) go several whole images
    // to a tile, so that one product streams the weights for all of them and has rows enough for full
    // register tiles. Each row of C is the same sum either way, so the result does not change.
    const std::int64_t images_per_tile =
        pl.direct_a || pl.direct_c ? 1 : std::clamp<std::int64_t>(tile / positions, 1, s.n);
    if (images_per_tile > 1) {
        args.a = patches.get();
        args.lda = s.k;
        args.c = result.get();
        args.ldc = s.cout;
        for (std::int64_t n0 = 0; n0 < s.n; n0 += images_per_tile) {
            const std::int64_t images = std::min(images_per_tile, s.n - n0);
            pool.parallel_for(images * positions, grain, [&](std::int64_t b, std::int64_t e, int) {
                for (std::int64_t row = b; row < e;) { // split at image boundaries
                    const std::int64_t image = row / positions;
                    const std::int64_t end = std::min(e, (image + 1) * positions);
                    gather(n0 + image, 0, row - image * positions, end - image * positions,
                           patches.get() + image * positions * s.k);
                    row = end;
                }
            });
            args.m = images * positions;
            multiply(args);
            for (std::int64_t image = 0; image < images; ++image) {
                scatter_tile(result.get() + image * positions * s.cout, s.cout, positions, s, n0 + image, 0, out, pool,
                             kernels);
            }
        }
        return;
    }

    for (std::int64_t n = 0; n < s.n; ++n) {
        for (std::int64_t p0 = 0; p0 < positions; p0 += tile) {
            const std::int64_t rows = std::min(tile, positions - p0);
            if (pl.direct_a) {
                args.a = reinterpret_cast<const float*>(x.data + n * x.stride(0)) + p0 * pl.lda;
                args.lda = pl.lda;
            } else {
                pool.parallel_for(rows, grain,
                                  [&](std::int64_t b, std::int64_t e, int) { gather(n, p0, b, e, patches.get()); });
                args.a = patches.get();
                args.lda = s.k;
            }
            args.m = rows;
            if (pl.direct_c) {
                args.c = reinterpret_cast<float*>(out.data + n * out.stride(0)) + p0 * pl.ldc;
                args.ldc = pl.ldc;
                multiply(args);
            } else {
                args.c = result.get();
                args.ldc = s.cout;
                multiply(args);
                scatter_tile(result.get(), s.cout, rows, s, n, p0, out, pool, kernels);
            }
        }
    }
}

void conv2d_reference(const core::TensorView& x, const core::TensorView& weight, const core::TensorView& bias,
                      const Conv2dParams& params, const core::TensorView& out) {
    const ConvShape s = check(x, weight, bias, params, out);
    std::vector<float> bias_storage;
    const float* b = f32_parameter(bias, s.cout, "conv2d", "bias", bias_storage);
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
                    double sum = b != nullptr ? b[co] : 0.0;
                    for (std::int64_t ci = 0; ci < s.cin; ++ci) {
                        for (int ky = 0; ky < s.kh; ++ky) {
                            for (int kx = 0; kx < s.kw; ++kx) {
                                const std::int64_t iy = oy * s.sh - s.ph + ky * s.dh;
                                const std::int64_t ix = ox * s.sw - s.pw + kx * s.dw;
                                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) {
                                    continue;
                                }
                                sum += static_cast<double>(*f32_at(x, n, ci, iy, ix)) *
                                       w[static_cast<std::size_t>(co * s.k + (ci * s.kh + ky) * s.kw + kx)];
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
