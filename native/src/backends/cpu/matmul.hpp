// Matrix multiplication with weights in any dtype against F32 activations: the kernel behind linear layers,
// 1x1 convolutions, 3x3 convolutions (through im2col) and attention projections.
//
//   C[M, N] = A[M, K] · W[N, K]ᵀ (+ bias[N])
//
// W is laid out as checkpoints store linear and convolution weights ([out, in] / [out, in*kh*kw]): N rows of
// K elements, each row in w_type (F32, F16, BF16 or a block-quantized type, blocks running along K), rows
// w_row_stride bytes apart. A and C are F32, row-major, with leading dimensions in elements.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/isa.hpp"
#include "core/thread_pool.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu {

class PrepackedWeights;

struct MatmulArgs {
    std::int64_t m = 0;
    std::int64_t n = 0;
    std::int64_t k = 0;
    const float* a = nullptr;
    std::int64_t lda = 0; // elements between rows of A (>= k)
    const std::byte* w = nullptr;
    nd_dtype w_type = ND_DTYPE_F32;
    std::int64_t w_row_stride = 0; // bytes between rows of W (>= dtype_row_bytes(w_type, k))
    const float* bias = nullptr;   // n values, or nullptr
    float* c = nullptr;
    std::int64_t ldc = 0;          // elements between rows of C (>= n)
    bool accumulate = false;       // C += A·Wᵀ instead of C = A·Wᵀ (bias is still added once)
    // W packed once (prepacked_weights.hpp): read instead of w, with the same result bit for bit. Its type, n,
    // k and ISA must be those of this call.
    const PrepackedWeights* prepacked = nullptr;
};

// Runs the best variant for `isa` (which must be supported by this CPU). Throws nd::core::Error on
// inconsistent arguments (naming them) and for a w_type this kernel cannot read.
void matmul(const MatmulArgs& args, core::ThreadPool& pool, Isa isa = best_isa());

// The plain scalar reference (double accumulation over dequantized weights), for tests.
void matmul_reference(const MatmulArgs& args);

} // namespace nd::backends::cpu
