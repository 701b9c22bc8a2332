// The pieces of matmul_quantized() (quant_matmul.cpp) that exist once per instruction set: the Scalar
// reference (quant_matmul_scalar.cpp), AVX2 (quant_matmul_avx2.cpp) and AVX-512 VNNI (quant_matmul_avx512.cpp).
//
// The algorithm, the same in every variant:
//
//  1. Weights. Every block type is decoded into small integer LEVELS with one float scale (and, for the
//     asymmetric types, one float min) per GROUP of 16 or 32 consecutive k, so that
//         W[n, k] = scale[n, g] * level[n, k] + min[n, g]        (g = k / group)
//     exactly as dequantize_row() computes it. Levels are stored as bytes, level + offset, with the offset
//     chosen so that they are unsigned (what VNNI's and maddubs' unsigned operand wants), and transposed into
//     panels of `width` columns: for each 4 consecutive k, the 4 bytes of column 0, then column 1, ... so one
//     vector load gives every column of the panel 4 k each. Packing happens once per call, in scratch.
//  2. Activations. Each row of A is quantized per group to int8, q = round(x / d) with d = max|x| / 127,
//     remembering d, -offset * sum(q) (to take the offset back out in integers) and d * sum(q) (for the min).
//  3. Products. For a tile of rows x panel columns and each group: the integer dot products
//         I = sum_k (level + offset) * q - offset * sum(q) = sum_k level * q           (exact, int32)
//     then C += (I * d_a) * scale (+ d_a * sum(q) * min) in float.
//
// The result equals A' · Wᵀ to float rounding, where A' is A with every element replaced by q * d (its 8-bit
// quantization): every variant computes the same integers, so they agree to float rounding; the difference
// from A · Wᵀ is bounded by sum_k |W[n, k]| * d_group(k) / 2.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/matmul.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu::quant::kernels {

// How one weight type becomes levels.
struct LevelFormat {
    int group = 32;     // k per scale: 32 (legacy types, Q4_K, Q5_K, Q8_K) or 16 (Q2_K, Q3_K, Q6_K)
    int offset = 0;     // added to the (signed) levels before storing them as bytes; 0 for the min types
    bool has_min = false;
};

// The format of `type` (a block-quantized dtype) for kernels that want unsigned weight bytes.
LevelFormat level_format(nd_dtype type) noexcept;

// Step 2's output: quantized rows of A.
struct QuantizedRows {
    std::int8_t* q = nullptr;          // row r at q + r * stride; k bytes
    std::int64_t stride = 0;
    float* scale = nullptr;            // d of group g of row r at [r * groups + g]
    std::int32_t* correction = nullptr; // -offset * sum(q) per group (offset formats), same indexing
    float* sum = nullptr;              // d * sum(q) per group (min formats), same indexing
    std::int64_t groups = 0;
};

// Step 1's output: weight panels.
struct PackedWeights {
    std::uint8_t* levels = nullptr; // panel p at p * k * width: [k / 4][width][4] bytes
    float* scale = nullptr;         // panel p at p * groups * width: [group][width]
    float* min = nullptr;           // same layout (min formats only)
    int width = 0;
    std::int64_t k = 0;
    std::int64_t groups = 0;
};

// What the product step needs beyond the two operands.
struct Output {
    float* c = nullptr;
    std::int64_t ldc = 0;
    std::int64_t n = 0;             // valid columns; the last panel is padded with zero weights
    const float* bias = nullptr;    // n values or nullptr
    bool accumulate = false;
};

// One instruction set's variant.
struct Kernels {
    int width;   // panel width in columns
    int rows;    // rows of C per register tile (a hint for splitting M)
    // Quantizes rows [row_begin, row_end) of A (k columns, lda apart) into `out`.
    void (*quantize_rows)(const float* a, std::int64_t lda, std::int64_t k, const LevelFormat& format,
                          std::int64_t row_begin, std::int64_t row_end, const QuantizedRows& out);
    // Decodes weight rows of panels [panel_begin, panel_end) (zero levels and scales past row n).
    void (*pack_panels)(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                        const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                        const PackedWeights& out);
    // C[rows, panels' columns] = (or +=) the products of step 3, plus the bias.
    void (*multiply)(const QuantizedRows& a, const PackedWeights& w, const LevelFormat& format,
                     std::int64_t row_begin, std::int64_t row_end, std::int64_t panel_begin,
                     std::int64_t panel_end, const Output& out);
};

// The Scalar variant (width 1: a "panel" is one weight row, the plain reference layout) packs signed levels
// (offset 0); AVX2 keeps Q8_0 and Q8_K signed too (their unsigned levels would overflow maddubs' 16-bit sums)
// and multiplies them with the sign trick. The driver asks each variant for its format.
const Kernels& scalar_kernels() noexcept;
LevelFormat scalar_format(nd_dtype type) noexcept;
const Kernels& avx2_kernels() noexcept;
LevelFormat avx2_format(nd_dtype type) noexcept;
const Kernels& avx512_kernels() noexcept; // needs AVX-512 VNNI
LevelFormat avx512_format(nd_dtype type) noexcept;

// How matmul_quantized() orders its steps. Automatic picks Fused for a large A (see quant_matmul.cpp);
// tests force each.
enum class Schedule {
    Automatic,
    Fused, // pack; then per task: quantize a chunk of rows and multiply it by every panel
    Split, // pack; quantize every row; then tasks of (row chunk x panel group)
};

// matmul_quantized() with the schedule chosen by the caller.
void matmul_quantized_scheduled(const MatmulArgs& args, core::ThreadPool& pool, Isa isa, Schedule schedule);

// The vector variants' weight packing (weight_panels_avx2.cpp, weight_panels_avx512.cpp), as Kernels::pack_panels.
void pack_panels_avx2(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                      const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                      const PackedWeights& out);
void pack_panels_avx512(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                        const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                        const PackedWeights& out);

} // namespace nd::backends::cpu::quant::kernels
