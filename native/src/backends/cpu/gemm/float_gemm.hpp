// The float GEMM driver (F32, F16 and BF16 weights): cache blocking and threading around the per-ISA pieces of
// gemm/kernels.hpp. matmul() (backends/cpu/matmul.cpp) validates and calls float_matmul(); pre-packed weights
// (gemm/packed_weights.hpp) call multiply_panels() directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "backends/cpu/gemm/kernels.hpp"
#include "backends/cpu/isa.hpp"
#include "backends/cpu/matmul.hpp"
#include "core/thread_pool.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu::gemm {

// The kernel set an ISA runs (Scalar for Neon until it has its own).
const FloatKernel& float_kernel(Isa isa) noexcept;

// C = A·Wᵀ (+ bias) for F32/F16/BF16 weights. Arguments already checked (matmul() does it).
void float_matmul(const MatmulArgs& args, core::ThreadPool& pool, Isa isa);

// Everything of a product but the weights.
struct Operands {
    std::int64_t m = 0;
    std::int64_t n = 0; // all of C's columns (bias and C are indexed from column 0)
    std::int64_t k = 0;
    const float* a = nullptr;
    std::int64_t lda = 0;
    const float* bias = nullptr;
    float* c = nullptr;
    std::int64_t ldc = 0;
    bool accumulate = false;
};

// Packs the panels of unpacked weights on first use (float_gemm.cpp).
class PanelPacker;

// Packed weight panels: k * nr elements each, F32 or 16-bit F16/BF16 (see kernels.hpp).
struct Panels {
    const void* data = nullptr;
    nd_dtype type = ND_DTYPE_F32;
};

// Computes columns [j0, j0 + cols) of C from `panels`, the packed weight panels of those columns
// (panel p covers columns j0 + p * nr ..., see kernels.hpp). With a packer, the (F32) panels are packed by
// the tasks that first need them; without, they must be packed already.
void multiply_panels(const Operands& op, std::int64_t j0, std::int64_t cols, Panels panels,
                     const FloatKernel& kernel, core::ThreadPool& pool, const PanelPacker* packer = nullptr);

// Floats on a 64-byte boundary (panels are read with aligned loads), uninitialised.
class AlignedFloats {
public:
    AlignedFloats() = default;
    explicit AlignedFloats(std::size_t count)
        : data_(static_cast<float*>(::operator new[](count * sizeof(float) + 64, std::align_val_t{64}))),
          count_(count) {}

    [[nodiscard]] float* data() const noexcept { return data_.get(); }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

private:
    struct Free {
        void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
    };
    std::unique_ptr<float[], Free> data_;
    std::size_t count_ = 0;
};

} // namespace nd::backends::cpu::gemm
