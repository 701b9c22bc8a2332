// Weights packed once for the float GEMM. matmul() packs F32/F16/BF16 weights into F32 panels on every call
// (gemm/float_gemm.cpp); a caller that multiplies by the same weights many times (a model's linear layers,
// every denoising step) can pack them once here and skip that pass. The packed copy keeps the weights' own
// element type (F16 and BF16 panels are converted by the microkernel as it loads them), so it takes the same
// bytes as the weights (panels are padded to NR columns, which every SD layer already is), in the panel
// layout of one ISA's kernel (gemm/kernels.hpp). docs/performance.md measures what it saves.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/gemm/float_gemm.hpp"
#include "backends/cpu/isa.hpp"
#include "core/thread_pool.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu::gemm {

class PackedWeights {
public:
    PackedWeights() = default; // empty: matmul_packed() refuses it

    [[nodiscard]] std::int64_t n() const noexcept { return n_; }
    [[nodiscard]] std::int64_t k() const noexcept { return k_; }
    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    // The panels' element type: the weights' (F32, F16 or BF16).
    [[nodiscard]] nd_dtype type() const noexcept { return type_; }
    [[nodiscard]] bool empty() const noexcept { return panels_.data() == nullptr; }
    // Bytes of the packed copy.
    [[nodiscard]] std::size_t bytes() const noexcept { return panels_.size() * sizeof(float); }

private:
    friend PackedWeights pack_weights(const std::byte*, nd_dtype, std::int64_t, std::int64_t, std::int64_t,
                                      core::ThreadPool&, Isa);
    friend struct PackedAccess;

    std::int64_t n_ = 0;
    std::int64_t k_ = 0;
    Isa isa_ = Isa::Scalar;
    nd_dtype type_ = ND_DTYPE_F32;
    AlignedFloats panels_; // 16-bit panels: two elements per float
};

// Packs W [n, k] (rows w_row_stride bytes apart, F32, F16 or BF16) for `isa`'s kernel, in parallel. Throws
// nd::core::Error naming the argument for non-positive sizes, a NULL w, a short stride, another w_type, or an
// isa this CPU cannot run.
PackedWeights pack_weights(const std::byte* w, nd_dtype w_type, std::int64_t n, std::int64_t k,
                           std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa = best_isa());

// The operands of matmul() but the weights, which PackedWeights holds (n and k come from there).
struct PackedMatmulArgs {
    std::int64_t m = 0;
    const float* a = nullptr;
    std::int64_t lda = 0;        // >= k
    const float* bias = nullptr; // n values, or nullptr
    float* c = nullptr;
    std::int64_t ldc = 0;        // >= n
    bool accumulate = false;
};

// C[m, n] (=|+=) A · Wᵀ (+ bias), with the ISA the weights were packed for; the same result, bit for bit, as
// matmul() on the unpacked weights with that ISA.
void matmul_packed(const PackedMatmulArgs& args, const PackedWeights& w, core::ThreadPool& pool);

} // namespace nd::backends::cpu::gemm
