// The matmul driver: validates, splits C into (weight panel x row chunk) tasks for the thread pool, packs
// each panel of W into F32 (converting F16/BF16 and dequantizing block formats on the way, so every weight
// type shares one FMA microkernel), and runs the ISA's microkernel over it. See gemm/microkernel.hpp.
#include "backends/cpu/matmul.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/gemm/microkernel.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends::cpu {

namespace {

// K is processed in chunks so that a packed panel (kc x NR floats: 64 KB for NR = 32) stays in L2 while the
// tile loop sweeps a chunk of rows of A over it. A multiple of 256 keeps K-quant super-blocks whole.
constexpr std::int64_t kKc = 512;
// Rows of A per task: enough to amortise packing (one pass over the panel per 2*kRows flops per weight), small
// enough to give every thread work at SD shapes (M = 4096 gives 16 row chunks per panel).
constexpr std::int64_t kRowsPerTask = 256;

void check_args(const MatmulArgs& a) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (a.m <= 0 || a.n <= 0 || a.k <= 0) {
        core::throw_error(bad, "matmul: sizes must be positive, got m={} n={} k={}", a.m, a.n, a.k);
    }
    if (a.a == nullptr || a.w == nullptr || a.c == nullptr) {
        core::throw_error(bad, "matmul: {} is NULL", a.a == nullptr ? "a" : a.w == nullptr ? "w" : "c");
    }
    if (a.lda < a.k) {
        core::throw_error(bad, "matmul: lda={} is smaller than k={}", a.lda, a.k);
    }
    if (a.ldc < a.n) {
        core::throw_error(bad, "matmul: ldc={} is smaller than n={}", a.ldc, a.n);
    }
    const nd_dtype t = a.w_type;
    const bool readable = t == ND_DTYPE_F32 || t == ND_DTYPE_F16 || t == ND_DTYPE_BF16 ||
                          (core::dtype_is_quantized(t) && t != ND_DTYPE_Q8_K);
    if (!readable) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "matmul: weights of type {} are not supported",
                          core::dtype_name(t));
    }
    const std::size_t block = core::dtype_block_elements(t);
    if (a.k % static_cast<std::int64_t>(block) != 0) {
        core::throw_error(bad, "matmul: k={} is not a multiple of the {} block of {} elements", a.k, core::dtype_name(t), block);
    }
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(t, static_cast<std::uint64_t>(a.k)));
    if (a.w_row_stride < row_bytes) {
        core::throw_error(bad, "matmul: w_row_stride={} is smaller than a {} row of k={} ({} bytes)", a.w_row_stride,
             core::dtype_name(t), a.k, row_bytes);
    }
}

// Reads W[row, k0 .. k0 + kc) as F32 into out.
void read_weight_row(const MatmulArgs& a, std::int64_t row, std::int64_t k0, std::int64_t kc, float* out) {
    const std::byte* base = a.w + row * a.w_row_stride;
    const auto offset = core::dtype_row_bytes(a.w_type, static_cast<std::uint64_t>(k0));
    const auto bytes = core::dtype_row_bytes(a.w_type, static_cast<std::uint64_t>(kc));
    quant::dequantize_row(a.w_type, std::span(base + offset, bytes), std::span(out, static_cast<std::size_t>(kc)));
}

struct Kernel {
    int mr;
    int nr;
    void (*tile)(const gemm::TileArgs&);
};

Kernel kernel_for(Isa isa) {
    switch (isa) {
    case Isa::Avx512: return {gemm::kMrAvx512, gemm::kNrAvx512, gemm::tile_avx512};
    case Isa::Avx2: return {gemm::kMrAvx2, gemm::kNrAvx2, gemm::tile_avx2};
    default: return {gemm::kMrScalar, gemm::kNrScalar, gemm::tile_scalar};
    }
}

// Per-thread packing space, sized once per call.
struct Scratch {
    std::vector<float> panel; // kc x NR
    std::vector<float> row;   // one weight row chunk, before transposing into the panel
};

void pack_panel(const MatmulArgs& a, std::int64_t j0, int nr, std::int64_t k0, std::int64_t kc, int panel_width,
                Scratch& s) {
    std::fill(s.panel.begin(), s.panel.begin() + kc * panel_width, 0.0f);
    for (int j = 0; j < nr; ++j) {
        read_weight_row(a, j0 + j, k0, kc, s.row.data());
        for (std::int64_t k = 0; k < kc; ++k) {
            s.panel[static_cast<std::size_t>(k * panel_width + j)] = s.row[static_cast<std::size_t>(k)];
        }
    }
}

} // namespace

namespace gemm {

void tile_scalar(const TileArgs& t) {
    float acc[kMrScalar][kNrScalar] = {};
    const float* p = t.panel;
    for (std::int64_t k = 0; k < t.kc; ++k, p += kNrScalar) {
        for (int i = 0; i < t.mr; ++i) {
            const float a = t.a[i * t.lda + k];
            for (int j = 0; j < kNrScalar; ++j) {
                acc[i][j] += a * p[j];
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

} // namespace gemm

void matmul(const MatmulArgs& args, core::ThreadPool& pool, Isa isa) {
    check_args(args);
    if (!isa_supported(isa, cpu_features())) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "matmul: this CPU cannot run the {} kernels", isa_name(isa));
    }
    const Kernel kernel = kernel_for(isa);
    const std::int64_t panels = (args.n + kernel.nr - 1) / kernel.nr;
    const std::int64_t row_chunks = (args.m + kRowsPerTask - 1) / kRowsPerTask;
    const std::int64_t kc_max = std::min(args.k, kKc);

    std::vector<Scratch> scratch(static_cast<std::size_t>(pool.size()));
    for (Scratch& s : scratch) {
        s.panel.resize(static_cast<std::size_t>(kc_max * kernel.nr));
        s.row.resize(static_cast<std::size_t>(kc_max));
    }

    // Tasks run panel-major so that concurrent threads share rows of A in cache rather than panels.
    pool.run(panels * row_chunks, [&](std::int64_t task, int thread) {
        const std::int64_t panel = task / row_chunks;
        const std::int64_t chunk = task % row_chunks;
        const std::int64_t j0 = panel * kernel.nr;
        const int nr = static_cast<int>(std::min<std::int64_t>(kernel.nr, args.n - j0));
        const std::int64_t i_begin = chunk * kRowsPerTask;
        const std::int64_t i_end = std::min(args.m, i_begin + kRowsPerTask);
        Scratch& s = scratch[static_cast<std::size_t>(thread)];
        for (std::int64_t k0 = 0; k0 < args.k; k0 += kKc) {
            const std::int64_t kc = std::min(kKc, args.k - k0);
            pack_panel(args, j0, nr, k0, kc, kernel.nr, s);
            const bool first = k0 == 0;
            for (std::int64_t i = i_begin; i < i_end; i += kernel.mr) {
                gemm::TileArgs t;
                t.mr = static_cast<int>(std::min<std::int64_t>(kernel.mr, i_end - i));
                t.nr = nr;
                t.kc = kc;
                t.a = args.a + i * args.lda + k0;
                t.lda = args.lda;
                t.panel = s.panel.data();
                t.c = args.c + i * args.ldc + j0;
                t.ldc = args.ldc;
                t.bias = first && args.bias != nullptr ? args.bias + j0 : nullptr;
                t.add_to_c = !first || args.accumulate;
                kernel.tile(t);
            }
        }
    });
}

void matmul_reference(const MatmulArgs& args) {
    check_args(args);
    std::vector<float> w(static_cast<std::size_t>(args.k));
    for (std::int64_t j = 0; j < args.n; ++j) {
        read_weight_row(args, j, 0, args.k, w.data());
        for (std::int64_t i = 0; i < args.m; ++i) {
            double sum = args.bias != nullptr ? args.bias[j] : 0.0;
            for (std::int64_t k = 0; k < args.k; ++k) {
                sum += static_cast<double>(args.a[i * args.lda + k]) * w[static_cast<std::size_t>(k)];
            }
            float& c = args.c[i * args.ldc + j];
            c = args.accumulate ? c + static_cast<float>(sum) : static_cast<float>(sum);
        }
    }
}

} // namespace nd::backends::cpu
