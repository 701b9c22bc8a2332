// A weight matrix packed once into the layout that one instruction set's matmul kernels read, for weights
// that are multiplied by many times (every denoising step). matmul() otherwise packs its weights on every
// call: F32/F16/BF16 into F32 panels (gemm/float_gemm.cpp), block-quantized types into byte levels and group
// scales (quant/quant_matmul.cpp). At the UNet's low-resolution levels (8x8 and 16x16 latents, a few
// hundred rows of activations against the largest weights) that packing costs about as much as the product.
//
// The packed copy costs no more memory than the weights themselves: float weights keep their own element
// type (F16 panels are converted by the microkernel as it loads them); Q8_0 and Q4_0 become about 1.1 bytes
// per weight (levels as bytes; Q4_0's 4-bit levels take twice their stored size). The CPU backend packs a
// plan's weights in upload_weights() and gives them to the kernels through MatmulArgs::prepacked.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/gemm/packed_weights.hpp"
#include "backends/cpu/isa.hpp"
#include "backends/cpu/quant/quant_matmul.hpp"
#include "core/thread_pool.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu {

class PrepackedWeights {
public:
    PrepackedWeights() = default; // empty

    // W [n, k] (rows w_row_stride bytes apart, any type matmul() reads) packed for `isa`, in parallel.
    // Throws nd::core::Error like matmul() for bad sizes, strides or types.
    static PrepackedWeights pack(const std::byte* w, nd_dtype type, std::int64_t n, std::int64_t k,
                                 std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa);

    [[nodiscard]] bool empty() const noexcept { return floats_.empty() && quantized_.empty(); }
    [[nodiscard]] nd_dtype type() const noexcept { return type_; }
    [[nodiscard]] std::int64_t n() const noexcept { return n_; }
    [[nodiscard]] std::int64_t k() const noexcept { return k_; }
    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    [[nodiscard]] std::size_t bytes() const noexcept {
        return floats_.empty() ? quantized_.bytes() : floats_.bytes();
    }

    // One of the two is set (the one of the weights' kind).
    [[nodiscard]] const gemm::PackedWeights& floats() const noexcept { return floats_; }
    [[nodiscard]] const quant::PackedQuantWeights& quantized() const noexcept { return quantized_; }

private:
    nd_dtype type_ = ND_DTYPE_F32;
    std::int64_t n_ = 0;
    std::int64_t k_ = 0;
    Isa isa_ = Isa::Scalar;
    gemm::PackedWeights floats_;
    quant::PackedQuantWeights quantized_;
};

} // namespace nd::backends::cpu
