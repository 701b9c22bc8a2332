// Matmul with block-quantized weights: activations are quantized on the fly to the 8-bit format that pairs
// with the weight type, and blocks are multiplied in integers (AVX-512 VNNI, AVX2 maddubs), so that a
// quantized weight reads fewer bytes AND does cheaper arithmetic than an F16 one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "backends/cpu/matmul.hpp"
#include "backends/cpu/quant/quant_matmul_kernels.hpp"

namespace nd::backends::cpu::quant {

// matmul() routes here for every block-quantized w_type. Same contract as matmul().
void matmul_quantized(const MatmulArgs& args, core::ThreadPool& pool, Isa isa);

// Block-quantized weights decoded once into the panels the integer kernels of one ISA read (levels as
// bytes, a float scale and min per group: quant_matmul_kernels.hpp), which matmul_quantized() otherwise
// builds on every call. About 1.1 bytes per weight whatever the block type (Q8_0 is 1.06, Q4_0 0.56).
class PackedQuantWeights {
public:
    PackedQuantWeights() = default; // empty

    [[nodiscard]] bool empty() const noexcept { return storage_ == nullptr; }
    [[nodiscard]] nd_dtype type() const noexcept { return type_; }
    [[nodiscard]] std::int64_t n() const noexcept { return n_; }
    [[nodiscard]] std::int64_t k() const noexcept { return k_; }
    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
    friend PackedQuantWeights pack_quantized(const std::byte*, nd_dtype, std::int64_t, std::int64_t,
                                             std::int64_t, core::ThreadPool&, Isa);
    friend struct PackedQuantAccess;

    struct Free {
        void operator()(std::byte* p) const noexcept;
    };
    std::unique_ptr<std::byte[], Free> storage_;
    std::size_t bytes_ = 0;
    nd_dtype type_ = ND_DTYPE_Q8_0;
    std::int64_t n_ = 0;
    std::int64_t k_ = 0;
    Isa isa_ = Isa::Scalar;
    kernels::PackedWeights panels_;
};

// Decodes W [n, k] (rows w_row_stride bytes apart, a block-quantized type) for `isa`'s kernels, in
// parallel. Throws nd::core::Error naming the argument for bad sizes, strides, types or an ISA this CPU lacks.
PackedQuantWeights pack_quantized(const std::byte* w, nd_dtype type, std::int64_t n, std::int64_t k,
                                  std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa);

// matmul_quantized() by pre-packed weights (args.w, w_type and w_row_stride are not read; n and k must be
// the packed ones): the same result, bit for bit, as matmul_quantized() on the unpacked weights with that ISA.
void matmul_quantized_packed(const MatmulArgs& args, const PackedQuantWeights& w, core::ThreadPool& pool,
                             kernels::Schedule schedule = kernels::Schedule::Automatic);

} // namespace nd::backends::cpu::quant
