// TensorView: what a kernel receives. A non-owning window on memory with a dtype, up to four dimensions
// (outermost first, as PyTorch writes shapes: N, C, H, W) and byte strides, so that reshape, permute and
// slice are views without copies. Owning tensors, graphs and buffers live elsewhere (core/tensor.hpp).
//
// Block-quantized dtypes are views over whole rows: the innermost dimension must be contiguous and a
// multiple of the block size, and strides of the other dimensions are in bytes like any other.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "native_diffusion.h"

namespace nd::core {

inline constexpr int kMaxDims = 4;

struct TensorView {
    nd_dtype dtype = ND_DTYPE_F32;
    int rank = 0;                                 // 0 is a scalar
    std::array<std::int64_t, kMaxDims> shape{};   // shape[0] is the outermost dimension
    std::array<std::int64_t, kMaxDims> strides{}; // bytes between consecutive indices of each dimension
    std::byte* data = nullptr;

    [[nodiscard]] std::int64_t elements() const noexcept {
        std::int64_t n = 1;
        for (int d = 0; d < rank; ++d) {
            n *= shape[static_cast<std::size_t>(d)];
        }
        return n;
    }

    [[nodiscard]] std::int64_t dim(int d) const noexcept { return shape[static_cast<std::size_t>(d)]; }
    [[nodiscard]] std::int64_t stride(int d) const noexcept { return strides[static_cast<std::size_t>(d)]; }

    template <typename T>
    [[nodiscard]] T* as() const noexcept {
        return reinterpret_cast<T*>(data);
    }
};

} // namespace nd::core
