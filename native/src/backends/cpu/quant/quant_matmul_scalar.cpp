// The Scalar variant of the quantized matmul: plain C++, the reference the vector variants are tested against.
// Panels are one weight row wide (so levels are simply row-major) and levels are signed (offset 0); the
// integers it computes are the ones every variant computes (see quant_matmul_kernels.hpp).
#include <algorithm>
#include <bit>
#include <cmath>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"
#include "backends/cpu/quant/weight_levels.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::quant::kernels {

namespace {

// Round to nearest, ties to even (what the vector conversions do), for |v| < 2^22.
int round_even(float v) noexcept {
    const float shifted = v + 12582912.0f; // 1.5 * 2^23: the integer lands in the low mantissa bits
    return static_cast<int>(std::bit_cast<std::uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

void quantize_rows(const float* a, std::int64_t lda, std::int64_t, const LevelFormat& format,
                   std::int64_t row_begin, std::int64_t row_end, const QuantizedRows& out) {
    const int group = format.group;
    for (std::int64_t r = row_begin; r < row_end; ++r) {
        const float* x = a + r * lda;
        std::int8_t* q = out.q + r * out.stride;
        for (std::int64_t g = 0; g < out.groups; ++g) {
            const float* xg = x + g * group;
            float amax = 0.0f;
            for (int j = 0; j < group; ++j) {
                amax = std::max(amax, std::fabs(xg[j]));
            }
            const float d = amax / 127.0f;
            const float id = d != 0.0f ? 1.0f / d : 0.0f;
            int sum = 0;
            for (int j = 0; j < group; ++j) {
                // In [-127, 127] for finite input; the clamp is the vector variants' saturating narrowing.
                const int v = std::clamp(round_even(xg[j] * id), -128, 127);
                q[g * group + j] = static_cast<std::int8_t>(v);
                sum += v;
            }
            const std::int64_t at = r * out.groups + g;
            out.scale[at] = d;
            if (out.correction != nullptr) {
                out.correction[at] = -format.offset * sum;
            }
            if (out.sum != nullptr) {
                out.sum[at] = d * static_cast<float>(sum);
            }
        }
    }
}

void pack_panels(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                 const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                 const PackedWeights& out) {
    pack_panels_generic(w, w_row_stride, type, n, format.offset, panel_begin, panel_end, out,
                        [](std::uint16_t h) { return core::f16_to_f32(h); });
}

// Width 1: panel p is weight row p, its levels row-major. Any offset is taken back out with the correction.
void multiply(const QuantizedRows& a, const PackedWeights& w, const LevelFormat& format, std::int64_t row_begin,
              std::int64_t row_end, std::int64_t panel_begin, std::int64_t panel_end, const Output& out) {
    const int group = format.group;
    for (std::int64_t r = row_begin; r < row_end; ++r) {
        const std::int8_t* q = a.q + r * a.stride;
        for (std::int64_t col = panel_begin; col < panel_end && col < out.n; ++col) {
            const std::uint8_t* levels = w.levels + col * w.k;
            float acc = 0.0f;
            for (std::int64_t g = 0; g < a.groups; ++g) {
                const std::int64_t at = r * a.groups + g;
                std::int32_t dot = a.correction != nullptr ? a.correction[at] : 0;
                for (int j = 0; j < group; ++j) {
                    const std::int64_t kk = g * group + j;
                    const int level = format.offset != 0 ? levels[kk] : static_cast<std::int8_t>(levels[kk]);
                    dot += level * q[kk];
                }
                const float t = static_cast<float>(dot) * a.scale[at];
                acc += t * w.scale[col * w.groups + g];
                if (format.has_min) {
                    acc += a.sum[at] * w.min[col * w.groups + g];
                }
            }
            float result = acc + (out.bias != nullptr ? out.bias[col] : 0.0f);
            float& c = out.c[r * out.ldc + col];
            c = out.accumulate ? c + result : result;
        }
    }
}

constexpr Kernels kScalar{1, 1, quantize_rows, pack_panels, multiply};

} // namespace

const Kernels& scalar_kernels() noexcept {
    return kScalar;
}

LevelFormat scalar_format(nd_dtype type) noexcept {
    LevelFormat format = level_format(type);
    format.offset = 0; // signed levels: plain int arithmetic needs no unsigned operand
    return format;
}

} // namespace nd::backends::cpu::quant::kernels
