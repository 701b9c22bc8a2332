// matmul(): checks the arguments, then sends F32/F16/BF16 weights to the blocked float GEMM (gemm/float_gemm.cpp)
// and block-quantized weights to the integer kernels (quant/quant_matmul.cpp). matmul_reference(): the plain
// double-precision loop both are tested against.
#include "backends/cpu/matmul.hpp"

#include <cstring>
#include <span>
#include <vector>

#include "backends/cpu/gemm/float_gemm.hpp"
#include "backends/cpu/gemm/packed_weights.hpp"
#include "backends/cpu/prepacked_weights.hpp"
#include "backends/cpu/quant/quant_matmul.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu {

namespace {

bool is_float_type(nd_dtype t) noexcept {
    return t == ND_DTYPE_F32 || t == ND_DTYPE_F16 || t == ND_DTYPE_BF16;
}

// Every message names the argument and its value, so that a caller several layers up (a graph node, a
// convolution) can tell which of its tensors was wrong.
void check_args(const MatmulArgs& a) {
    constexpr nd_status bad = ND_STATUS_INVALID_ARGUMENT;
    if (a.m <= 0) {
        core::throw_error(bad, "matmul: m={} must be positive (n={} k={})", a.m, a.n, a.k);
    }
    if (a.n <= 0) {
        core::throw_error(bad, "matmul: n={} must be positive (m={} k={})", a.n, a.m, a.k);
    }
    if (a.k <= 0) {
        core::throw_error(bad, "matmul: k={} must be positive (m={} n={})", a.k, a.m, a.n);
    }
    if (a.a == nullptr) {
        core::throw_error(bad, "matmul: a is NULL");
    }
    if (a.w == nullptr) {
        core::throw_error(bad, "matmul: w is NULL");
    }
    if (a.c == nullptr) {
        core::throw_error(bad, "matmul: c is NULL");
    }
    if (a.lda < a.k) {
        core::throw_error(bad, "matmul: lda={} is smaller than k={}", a.lda, a.k);
    }
    if (a.ldc < a.n) {
        core::throw_error(bad, "matmul: ldc={} is smaller than n={}", a.ldc, a.n);
    }
    const nd_dtype t = a.w_type;
    if (!is_float_type(t) && !core::dtype_is_quantized(t)) {
        core::throw_error(ND_STATUS_UNSUPPORTED,
                          "matmul: w_type {} is not supported (F32, F16, BF16 or a block-quantized type)",
                          core::dtype_name(t));
    }
    const auto block = static_cast<std::int64_t>(core::dtype_block_elements(t));
    if (a.k % block != 0) {
        core::throw_error(bad, "matmul: k={} is not a multiple of the {} block of {} elements", a.k,
                          core::dtype_name(t), block);
    }
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(t, static_cast<std::uint64_t>(a.k)));
    if (a.w_row_stride < row_bytes) {
        core::throw_error(bad, "matmul: w_row_stride={} is smaller than a {} row of k={} ({} bytes)",
                          a.w_row_stride, core::dtype_name(t), a.k, row_bytes);
    }
}

// Weight row j as F32.
void read_weight_row(const MatmulArgs& a, std::int64_t j, std::vector<float>& out) {
    const std::byte* row = a.w + j * a.w_row_stride;
    const auto k = static_cast<std::size_t>(a.k);
    switch (a.w_type) {
    case ND_DTYPE_F32: std::memcpy(out.data(), row, k * sizeof(float)); return;
    case ND_DTYPE_F16:
    case ND_DTYPE_BF16:
        for (std::size_t i = 0; i < k; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, row + 2 * i, 2);
            out[i] = a.w_type == ND_DTYPE_F16 ? core::f16_to_f32(bits) : core::bf16_to_f32(bits);
        }
        return;
    default: {
        const auto bytes = core::dtype_row_bytes(a.w_type, k);
        quant::dequantize_row(a.w_type, std::span(row, bytes), std::span(out.data(), k));
        return;
    }
    }
}

} // namespace

void matmul(const MatmulArgs& args, core::ThreadPool& pool, Isa isa) {
    check_args(args);
    if (!isa_supported(isa, cpu_features())) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "matmul: this CPU cannot run the {} kernels", isa_name(isa));
    }
    if (args.prepacked != nullptr) {
        const PrepackedWeights& p = *args.prepacked;
        if (p.empty() || p.type() != args.w_type || p.n() != args.n || p.k() != args.k || p.isa() != isa) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "matmul: the prepacked weights ({} n={} k={}, {} kernels) are not those of this call "
                              "({} n={} k={}, {} kernels)",
                              core::dtype_name(p.type()), p.n(), p.k(), isa_name(p.isa()),
                              core::dtype_name(args.w_type), args.n, args.k, isa_name(isa));
        }
        if (!p.quantized().empty()) {
            quant::matmul_quantized_packed(args, p.quantized(), pool);
            return;
        }
        gemm::PackedMatmulArgs pa;
        pa.m = args.m;
        pa.a = args.a;
        pa.lda = args.lda;
        pa.bias = args.bias;
        pa.c = args.c;
        pa.ldc = args.ldc;
        pa.accumulate = args.accumulate;
        gemm::matmul_packed(pa, p.floats(), pool);
        return;
    }
    if (core::dtype_is_quantized(args.w_type)) {
        quant::matmul_quantized(args, pool, isa);
        return;
    }
    gemm::float_matmul(args, pool, isa);
}

void matmul_reference(const MatmulArgs& args) {
    check_args(args);
    std::vector<float> w(static_cast<std::size_t>(args.k));
    for (std::int64_t j = 0; j < args.n; ++j) {
        read_weight_row(args, j, w);
        for (std::int64_t i = 0; i < args.m; ++i) {
            const float* a = args.a + i * args.lda;
            double sum = args.bias != nullptr ? args.bias[j] : 0.0;
            for (std::int64_t k = 0; k < args.k; ++k) {
                sum += static_cast<double>(a[k]) * w[static_cast<std::size_t>(k)];
            }
            float& c = args.c[i * args.ldc + j];
            c = args.accumulate ? static_cast<float>(c + sum) : static_cast<float>(sum);
        }
    }
}

} // namespace nd::backends::cpu
