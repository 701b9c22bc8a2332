// The Scalar float GEMM pieces: plain C++ with the same packed layouts as the vector variants (kernels.hpp),
// compiled for the baseline ISA. The variant every other one is tested against, and what a CPU without AVX2
// (or an ARM one, until it has NEON kernels) runs.
#include <cstdint>

#include "backends/cpu/gemm/kernels.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::gemm {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

// Panel column values of one k as F32.
void load_panel(const TileArgs& t, std::int64_t k, float* out) {
    const std::int64_t at = k * kNr;
    switch (t.panel_type) {
    case ND_DTYPE_F16:
        for (int j = 0; j < kNr; ++j) {
            out[j] = core::f16_to_f32(static_cast<const std::uint16_t*>(t.panel)[at + j]);
        }
        return;
    case ND_DTYPE_BF16:
        for (int j = 0; j < kNr; ++j) {
            out[j] = core::bf16_to_f32(static_cast<const std::uint16_t*>(t.panel)[at + j]);
        }
        return;
    default:
        for (int j = 0; j < kNr; ++j) {
            out[j] = static_cast<const float*>(t.panel)[at + j];
        }
        return;
    }
}

void tile(const TileArgs& t) {
    float acc[kMr][kNr] = {};
    const float* a = t.a;
    float p[kNr];
    for (std::int64_t k = 0; k < t.kc; ++k, a += kMr) {
        load_panel(t, k, p);
        for (int i = 0; i < t.mr; ++i) {
            for (int j = 0; j < kNr; ++j) {
                acc[i][j] += a[i] * p[j];
            }
        }
    }
    for (int i = 0; i < t.mr; ++i) {
        float* c = t.c + i * t.ldc;
        for (int j = 0; j < t.nr; ++j) {
            const float v = acc[i][j] + (t.bias != nullptr ? t.bias[j] : 0.0f);
            c[j] = t.add_to_c ? c[j] + v : v;
        }
    }
}

float load(const std::byte* row, nd_dtype type, std::int64_t k) noexcept {
    switch (type) {
    case ND_DTYPE_F16: return core::f16_to_f32(reinterpret_cast<const std::uint16_t*>(row)[k]);
    case ND_DTYPE_BF16: return core::bf16_to_f32(reinterpret_cast<const std::uint16_t*>(row)[k]);
    default: return reinterpret_cast<const float*>(row)[k];
    }
}

void pack_panel(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                float* panel) {
    for (int j = 0; j < kNr; ++j) {
        if (j >= rows) { // past N: zero columns
            for (std::int64_t kk = 0; kk < k; ++kk) {
                panel[kk * kNr + j] = 0.0f;
            }
            continue;
        }
        const std::byte* row = w + j * w_row_stride;
        for (std::int64_t kk = 0; kk < k; ++kk) {
            panel[kk * kNr + j] = load(row, w_type, kk);
        }
    }
}

void pack_panel_16(const std::byte* w, nd_dtype w_type, std::int64_t w_row_stride, int rows, std::int64_t k,
                   std::uint16_t* panel) {
    (void)w_type; // F16 or BF16: the bits are copied as they are
    for (int j = 0; j < kNr; ++j) {
        if (j >= rows) {
            for (std::int64_t kk = 0; kk < k; ++kk) {
                panel[kk * kNr + j] = 0;
            }
            continue;
        }
        const auto* row = reinterpret_cast<const std::uint16_t*>(w + j * w_row_stride);
        for (std::int64_t kk = 0; kk < k; ++kk) {
            panel[kk * kNr + j] = row[kk];
        }
    }
}

void pack_a(const float* a, std::int64_t lda, std::int64_t rows, std::int64_t kc, float* out) {
    for (std::int64_t i0 = 0; i0 < rows; i0 += kMr, out += kMr * kc) {
        const std::int64_t mr = rows - i0 < kMr ? rows - i0 : kMr;
        for (std::int64_t i = 0; i < mr; ++i) {
            for (std::int64_t k = 0; k < kc; ++k) {
                out[k * kMr + i] = a[(i0 + i) * lda + k];
            }
        }
    }
}

} // namespace

const FloatKernel& float_kernel_scalar() noexcept {
    static constexpr FloatKernel kernel{kMr, kNr, pack_panel, pack_panel_16, pack_a, tile};
    return kernel;
}

} // namespace nd::backends::cpu::gemm
