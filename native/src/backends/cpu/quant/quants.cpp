#include "backends/cpu/quant/quants.hpp"

#include <cstring>

#include "backends/cpu/quant/quantize_impl.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::quant {

namespace {

void check_sizes(nd_dtype type, std::size_t elements, std::size_t bytes, const char* what) {
    const std::size_t block = core::dtype_block_elements(type);
    if (block == 0 || type == ND_DTYPE_F64 || (block == 1 && type != ND_DTYPE_F32 && type != ND_DTYPE_F16 &&
                                               type != ND_DTYPE_BF16)) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "{}: {} rows are not supported (F32, F16, BF16 and the GGML "
                          "block formats are)", what, core::dtype_name(type));
    }
    const std::uint64_t expected = core::dtype_row_bytes(type, elements); // throws for partial blocks
    if (bytes != expected) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{}: a {} row of {} elements takes {} bytes, not {}", what,
                          core::dtype_name(type), elements, expected, bytes);
    }
}

// Runs `fn(block_pointer, values)` for every block of a row; Block is the block struct.
template <typename Block, typename Fn>
void for_blocks(std::byte* row, std::size_t elements, std::size_t per_block, Fn fn) {
    for (std::size_t i = 0; i < elements / per_block; ++i) {
        Block block;
        std::memcpy(&block, row + i * sizeof(Block), sizeof(Block)); // file rows need not be aligned
        fn(block, i * per_block);
        std::memcpy(row + i * sizeof(Block), &block, sizeof(Block));
    }
}

template <typename Block, typename Fn>
void for_blocks(const std::byte* row, std::size_t elements, std::size_t per_block, Fn fn) {
    for (std::size_t i = 0; i < elements / per_block; ++i) {
        Block block;
        std::memcpy(&block, row + i * sizeof(Block), sizeof(Block));
        fn(block, i * per_block);
    }
}

} // namespace

void quantize_row(nd_dtype type, std::span<const float> src, std::span<std::byte> dst) {
    check_sizes(type, src.size(), dst.size(), "quantize_row");
    const float* x = src.data();
    std::byte* row = dst.data();
    const std::size_t n = src.size();
    switch (type) {
    case ND_DTYPE_F32: std::memcpy(row, x, n * sizeof(float)); return;
    case ND_DTYPE_F16:
    case ND_DTYPE_BF16:
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint16_t bits = type == ND_DTYPE_F16 ? core::f32_to_f16(x[i]) : core::f32_to_bf16(x[i]);
            std::memcpy(row + 2 * i, &bits, 2);
        }
        return;
    case ND_DTYPE_Q8_0: for_blocks<BlockQ8_0>(row, n, 32, [&](BlockQ8_0& b, std::size_t f) { detail::quantize_q8_0(x + f, b); }); return;
    case ND_DTYPE_Q4_0: for_blocks<BlockQ4_0>(row, n, 32, [&](BlockQ4_0& b, std::size_t f) { detail::quantize_q4_0(x + f, b); }); return;
    case ND_DTYPE_Q4_1: for_blocks<BlockQ4_1>(row, n, 32, [&](BlockQ4_1& b, std::size_t f) { detail::quantize_q4_1(x + f, b); }); return;
    case ND_DTYPE_Q5_0: for_blocks<BlockQ5_0>(row, n, 32, [&](BlockQ5_0& b, std::size_t f) { detail::quantize_q5_0(x + f, b); }); return;
    case ND_DTYPE_Q5_1: for_blocks<BlockQ5_1>(row, n, 32, [&](BlockQ5_1& b, std::size_t f) { detail::quantize_q5_1(x + f, b); }); return;
    case ND_DTYPE_Q2_K: for_blocks<BlockQ2_K>(row, n, 256, [&](BlockQ2_K& b, std::size_t f) { detail::quantize_q2_k(x + f, b); }); return;
    case ND_DTYPE_Q3_K: for_blocks<BlockQ3_K>(row, n, 256, [&](BlockQ3_K& b, std::size_t f) { detail::quantize_q3_k(x + f, b); }); return;
    case ND_DTYPE_Q4_K: for_blocks<BlockQ4_K>(row, n, 256, [&](BlockQ4_K& b, std::size_t f) { detail::quantize_q4_k(x + f, b); }); return;
    case ND_DTYPE_Q5_K: for_blocks<BlockQ5_K>(row, n, 256, [&](BlockQ5_K& b, std::size_t f) { detail::quantize_q5_k(x + f, b); }); return;
    case ND_DTYPE_Q6_K: for_blocks<BlockQ6_K>(row, n, 256, [&](BlockQ6_K& b, std::size_t f) { detail::quantize_q6_k(x + f, b); }); return;
    case ND_DTYPE_Q8_K: for_blocks<BlockQ8_K>(row, n, 256, [&](BlockQ8_K& b, std::size_t f) { detail::quantize_q8_k(x + f, b); }); return;
    default: break;
    }
}

void dequantize_row(nd_dtype type, std::span<const std::byte> src, std::span<float> dst) {
    check_sizes(type, dst.size(), src.size(), "dequantize_row");
    const std::byte* row = src.data();
    float* y = dst.data();
    const std::size_t n = dst.size();
    switch (type) {
    case ND_DTYPE_F32: std::memcpy(y, row, n * sizeof(float)); return;
    case ND_DTYPE_F16:
    case ND_DTYPE_BF16:
        for (std::size_t i = 0; i < n; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, row + 2 * i, 2);
            y[i] = type == ND_DTYPE_F16 ? core::f16_to_f32(bits) : core::bf16_to_f32(bits);
        }
        return;
    case ND_DTYPE_Q8_0: for_blocks<BlockQ8_0>(row, n, 32, [&](const BlockQ8_0& b, std::size_t f) { detail::dequantize_q8_0(b, y + f); }); return;
    case ND_DTYPE_Q4_0: for_blocks<BlockQ4_0>(row, n, 32, [&](const BlockQ4_0& b, std::size_t f) { detail::dequantize_q4_0(b, y + f); }); return;
    case ND_DTYPE_Q4_1: for_blocks<BlockQ4_1>(row, n, 32, [&](const BlockQ4_1& b, std::size_t f) { detail::dequantize_q4_1(b, y + f); }); return;
    case ND_DTYPE_Q5_0: for_blocks<BlockQ5_0>(row, n, 32, [&](const BlockQ5_0& b, std::size_t f) { detail::dequantize_q5_0(b, y + f); }); return;
    case ND_DTYPE_Q5_1: for_blocks<BlockQ5_1>(row, n, 32, [&](const BlockQ5_1& b, std::size_t f) { detail::dequantize_q5_1(b, y + f); }); return;
    case ND_DTYPE_Q2_K: for_blocks<BlockQ2_K>(row, n, 256, [&](const BlockQ2_K& b, std::size_t f) { detail::dequantize_q2_k(b, y + f); }); return;
    case ND_DTYPE_Q3_K: for_blocks<BlockQ3_K>(row, n, 256, [&](const BlockQ3_K& b, std::size_t f) { detail::dequantize_q3_k(b, y + f); }); return;
    case ND_DTYPE_Q4_K: for_blocks<BlockQ4_K>(row, n, 256, [&](const BlockQ4_K& b, std::size_t f) { detail::dequantize_q4_k(b, y + f); }); return;
    case ND_DTYPE_Q5_K: for_blocks<BlockQ5_K>(row, n, 256, [&](const BlockQ5_K& b, std::size_t f) { detail::dequantize_q5_k(b, y + f); }); return;
    case ND_DTYPE_Q6_K: for_blocks<BlockQ6_K>(row, n, 256, [&](const BlockQ6_K& b, std::size_t f) { detail::dequantize_q6_k(b, y + f); }); return;
    case ND_DTYPE_Q8_K: for_blocks<BlockQ8_K>(row, n, 256, [&](const BlockQ8_K& b, std::size_t f) { detail::dequantize_q8_k(b, y + f); }); return;
    default: break;
    }
}

} // namespace nd::backends::cpu::quant
