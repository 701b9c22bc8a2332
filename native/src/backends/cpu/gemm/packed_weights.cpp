#include "backends/cpu/gemm/packed_weights.hpp"

#include <algorithm>
#include <cstdint>

#include "backends/cpu/cpu_features.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends::cpu::gemm {

struct PackedAccess {
    static Panels panels(const PackedWeights& w) noexcept { return {w.panels_.data(), w.type_}; }
};

PackedWeights pack_weights(const std::byte* w, nd_dtype w_type, std::int64_t n, std::int64_t k,
                           std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (n <= 0 || k <= 0) {
        core::throw_error(bad, "pack_weights: n={} and k={} must be positive", n, k);
    }
    if (w == nullptr) {
        core::throw_error(bad, "pack_weights: w is NULL");
    }
    if (w_type != ND_DTYPE_F32 && w_type != ND_DTYPE_F16 && w_type != ND_DTYPE_BF16) {
        core::throw_error(bad, "pack_weights: w_type {} is not F32, F16 or BF16 (block-quantized weights have "
                          "their own packing)", core::dtype_name(w_type));
    }
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(w_type, static_cast<std::uint64_t>(k)));
    if (w_row_stride < row_bytes) {
        core::throw_error(bad, "pack_weights: w_row_stride={} is smaller than a {} row of k={} ({} bytes)",
                          w_row_stride, core::dtype_name(w_type), k, row_bytes);
    }
    if (!isa_supported(isa, cpu_features())) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "pack_weights: this CPU cannot run the {} kernels", isa_name(isa));
    }
    const FloatKernel& kernel = float_kernel(isa);
    const std::int64_t nr = kernel.nr;
    const std::int64_t panels = (n + nr - 1) / nr;
    PackedWeights packed;
    packed.n_ = n;
    packed.k_ = k;
    packed.isa_ = isa;
    packed.type_ = w_type;
    const bool half = w_type != ND_DTYPE_F32;
    const std::int64_t elements = panels * nr * k;
    packed.panels_ = AlignedFloats(static_cast<std::size_t>(half ? (elements + 1) / 2 : elements));
    float* out = packed.panels_.data();
    auto* out16 = reinterpret_cast<std::uint16_t*>(out);
    pool.run(panels, [&](std::int64_t p, int) {
        const std::int64_t j = p * nr;
        const int rows = static_cast<int>(std::min(nr, n - j));
        if (half) {
            kernel.pack_panel_16(w + j * w_row_stride, w_type, w_row_stride, rows, k, out16 + p * nr * k);
        } else {
            kernel.pack_panel(w + j * w_row_stride, w_type, w_row_stride, rows, k, out + p * nr * k);
        }
    });
    return packed;
}

void matmul_packed(const PackedMatmulArgs& args, const PackedWeights& w, core::ThreadPool& pool) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (w.empty()) {
        core::throw_error(bad, "matmul_packed: the packed weights are empty");
    }
    if (args.m <= 0) {
        core::throw_error(bad, "matmul_packed: m={} must be positive", args.m);
    }
    if (args.a == nullptr || args.c == nullptr) {
        core::throw_error(bad, "matmul_packed: {} is NULL", args.a == nullptr ? "a" : "c");
    }
    if (args.lda < w.k()) {
        core::throw_error(bad, "matmul_packed: lda={} is smaller than k={}", args.lda, w.k());
    }
    if (args.ldc < w.n()) {
        core::throw_error(bad, "matmul_packed: ldc={} is smaller than n={}", args.ldc, w.n());
    }
    Operands op;
    op.m = args.m;
    op.n = w.n();
    op.k = w.k();
    op.a = args.a;
    op.lda = args.lda;
    op.bias = args.bias;
    op.c = args.c;
    op.ldc = args.ldc;
    op.accumulate = args.accumulate;
    multiply_panels(op, 0, w.n(), PackedAccess::panels(w), float_kernel(w.isa()), pool);
}

} // namespace nd::backends::cpu::gemm
