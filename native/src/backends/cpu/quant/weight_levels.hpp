// Decoding of one GGML weight block into the integer levels, group scales and group mins of the quantized
// matmul (see quant_matmul_kernels.hpp): value = scale[g] * level + min[g], bit-for-bit what dequantize_row()
// computes (the scale is formed with the same float operations, e.g. d * sc for the K types).
//
// Everything here has internal linkage (anonymous namespace) on purpose: the file is compiled into the
// baseline, AVX2 and AVX-512 translation units, and an inline function with external linkage would leave the
// linker free to keep the AVX-512 copy for the baseline callers. For the same reason the f16 conversion is a
// parameter: core::f16_to_f32 in baseline code, F16C in the vector files (both exact).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backends/cpu/quant/blocks.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu::quant::kernels {
namespace {

// One decoded block: up to 256 levels and 16 groups.
struct DecodedBlock {
    std::uint8_t levels[kSuper]; // level + offset, as a byte
    float scale[16];
    float min[16];
};

// Elements and bytes of one block of a block-quantized type.
inline std::int64_t block_elements_of(nd_dtype type) {
    switch (type) {
    case ND_DTYPE_Q8_0: case ND_DTYPE_Q4_0: case ND_DTYPE_Q4_1: case ND_DTYPE_Q5_0: case ND_DTYPE_Q5_1: return kBlock;
    default: return kSuper;
    }
}

inline std::int64_t block_bytes_of(nd_dtype type) {
    switch (type) {
    case ND_DTYPE_Q8_0: return sizeof(BlockQ8_0);
    case ND_DTYPE_Q4_0: return sizeof(BlockQ4_0);
    case ND_DTYPE_Q4_1: return sizeof(BlockQ4_1);
    case ND_DTYPE_Q5_0: return sizeof(BlockQ5_0);
    case ND_DTYPE_Q5_1: return sizeof(BlockQ5_1);
    case ND_DTYPE_Q2_K: return sizeof(BlockQ2_K);
    case ND_DTYPE_Q3_K: return sizeof(BlockQ3_K);
    case ND_DTYPE_Q4_K: return sizeof(BlockQ4_K);
    case ND_DTYPE_Q5_K: return sizeof(BlockQ5_K);
    case ND_DTYPE_Q6_K: return sizeof(BlockQ6_K);
    default: return sizeof(BlockQ8_K);
    }
}

template <typename Block>
Block read_block(const std::byte* p) {
    Block b;
    std::memcpy(&b, p, sizeof b); // rows of a mapped file need not be aligned
    return b;
}

inline std::uint8_t stored(int level, int offset) {
    return static_cast<std::uint8_t>((level + offset) & 0xFF);
}

// The 6-bit scale and min of sub-block j of Q4_K/Q5_K (the layout of blocks.hpp's unpack_scale_min_k4).
inline void scale_min_k4(int j, const std::uint8_t* q, int& scale, int& min) {
    if (j < 4) {
        scale = q[j] & 63;
        min = q[j + 4] & 63;
    } else {
        scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// The 6-bit scale of sub-block j of Q3_K, minus its bias of 32.
inline int scale_q3_k(int j, const std::uint8_t* q) {
    const int low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4;
    const int high = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// Decodes the block at `p` of type `type`. `half` converts f16 bits to float.
template <typename Half>
void decode_block(nd_dtype type, const std::byte* p, int offset, Half half, DecodedBlock& out) {
    switch (type) {
    case ND_DTYPE_Q8_0: {
        const auto b = read_block<BlockQ8_0>(p);
        for (int j = 0; j < kBlock; ++j) {
            out.levels[j] = stored(b.qs[j], offset);
        }
        out.scale[0] = half(b.d);
        return;
    }
    case ND_DTYPE_Q4_0: {
        const auto b = read_block<BlockQ4_0>(p);
        for (int j = 0; j < kBlock / 2; ++j) {
            out.levels[j] = stored((b.qs[j] & 0xF) - 8, offset);
            out.levels[j + kBlock / 2] = stored((b.qs[j] >> 4) - 8, offset);
        }
        out.scale[0] = half(b.d);
        return;
    }
    case ND_DTYPE_Q4_1: {
        const auto b = read_block<BlockQ4_1>(p);
        for (int j = 0; j < kBlock / 2; ++j) {
            out.levels[j] = stored(b.qs[j] & 0xF, offset);
            out.levels[j + kBlock / 2] = stored(b.qs[j] >> 4, offset);
        }
        out.scale[0] = half(b.d);
        out.min[0] = half(b.m);
        return;
    }
    case ND_DTYPE_Q5_0:
    case ND_DTYPE_Q5_1: {
        // Q5_0 is Q5_1 without the min: d, (m), qh[4], qs[16].
        const bool has_min = type == ND_DTYPE_Q5_1;
        std::uint8_t qs[kBlock / 2];
        std::uint32_t qh;
        std::uint16_t d;
        std::uint16_t m = 0;
        std::memcpy(&d, p, 2);
        if (has_min) {
            std::memcpy(&m, p + 2, 2);
        }
        std::memcpy(&qh, p + (has_min ? 4 : 2), 4);
        std::memcpy(qs, p + (has_min ? 8 : 6), sizeof qs);
        const int bias = has_min ? 0 : 16;
        for (int j = 0; j < kBlock / 2; ++j) {
            const int lo = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + kBlock / 2)) & 1u) << 4);
            out.levels[j] = stored(lo - bias, offset);
            out.levels[j + kBlock / 2] = stored(hi - bias, offset);
        }
        out.scale[0] = half(d);
        out.min[0] = has_min ? half(m) : 0.0f;
        return;
    }
    case ND_DTYPE_Q2_K: {
        const auto b = read_block<BlockQ2_K>(p);
        const float d = half(b.d);
        const float dmin = half(b.dmin);
        for (int e = 0; e < kSuper; ++e) {
            const int level = (b.qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            out.levels[e] = stored(level, offset);
        }
        for (int g = 0; g < 16; ++g) {
            out.scale[g] = d * static_cast<float>(b.scales[g] & 0xF);
            out.min[g] = -(dmin * static_cast<float>(b.scales[g] >> 4));
        }
        return;
    }
    case ND_DTYPE_Q3_K: {
        const auto b = read_block<BlockQ3_K>(p);
        const float d = half(b.d);
        for (int e = 0; e < kSuper; ++e) {
            const int pair = (e % 128) / 32;
            const int low = (b.qs[(e / 128) * 32 + e % 32] >> (2 * pair)) & 3;
            const bool high = ((b.hmask[e % 32] >> (e / 32)) & 1) != 0; // bit 4 * half + pair
            out.levels[e] = stored(low - (high ? 0 : 4), offset);
        }
        for (int g = 0; g < 16; ++g) {
            out.scale[g] = d * static_cast<float>(scale_q3_k(g, b.scales));
        }
        return;
    }
    case ND_DTYPE_Q4_K:
    case ND_DTYPE_Q5_K: {
        // Q4_K is Q5_K without qh: d, dmin, scales[12], (qh[32]), qs[128].
        const bool five = type == ND_DTYPE_Q5_K;
        std::uint16_t d_bits;
        std::uint16_t dmin_bits;
        std::uint8_t scales[kScaleBytes];
        std::uint8_t qh[kSuper / 8] = {};
        std::uint8_t qs[kSuper / 2];
        std::memcpy(&d_bits, p, 2);
        std::memcpy(&dmin_bits, p + 2, 2);
        std::memcpy(scales, p + 4, kScaleBytes);
        if (five) {
            std::memcpy(qh, p + 16, sizeof qh);
        }
        std::memcpy(qs, p + (five ? 48 : 16), sizeof qs);
        for (int e = 0; e < kSuper; ++e) {
            const std::uint8_t byte = qs[(e / 64) * 32 + e % 32];
            int level = (e % 64) < 32 ? byte & 0xF : byte >> 4;
            level |= ((qh[e % 32] >> (e / 32)) & 1) << 4; // zero for Q4_K
            out.levels[e] = stored(level, offset);
        }
        const float d = half(d_bits);
        const float dmin = half(dmin_bits);
        for (int g = 0; g < 8; ++g) {
            int sc = 0;
            int m = 0;
            scale_min_k4(g, scales, sc, m);
            out.scale[g] = d * static_cast<float>(sc);
            out.min[g] = -(dmin * static_cast<float>(m));
        }
        return;
    }
    case ND_DTYPE_Q6_K: {
        const auto b = read_block<BlockQ6_K>(p);
        for (int e = 0; e < kSuper; ++e) {
            const int quarter = (e % 128) / 32;
            const std::uint8_t low_byte = b.ql[(e / 128) * 64 + (quarter % 2) * 32 + e % 32];
            const int low = quarter < 2 ? low_byte & 0xF : low_byte >> 4;
            const int high = (b.qh[(e / 128) * 32 + e % 32] >> (2 * quarter)) & 3;
            out.levels[e] = stored((low | (high << 4)) - 32, offset);
        }
        const float d = half(b.d);
        for (int g = 0; g < 16; ++g) {
            out.scale[g] = d * static_cast<float>(b.scales[g]);
        }
        return;
    }
    case ND_DTYPE_Q8_K: {
        float d;
        std::memcpy(&d, p, 4);
        for (int e = 0; e < kSuper; ++e) {
            out.levels[e] = stored(static_cast<std::int8_t>(p[4 + e]), offset);
        }
        for (int g = 0; g < 8; ++g) {
            out.scale[g] = d;
        }
        return;
    }
    default: return;
    }
}

// Packs panels [panel_begin, panel_end) of `width` weight rows each (rows past n get zero scales, levels and
// mins, so they contribute nothing): levels[k / 4][width][4] and scale/min[group][width] per panel, as
// quant_matmul_kernels.hpp describes. `PackedWeights` is passed as a template so that this header does not
// depend on that one.
template <typename Half, typename PackedWeights>
void pack_panels_generic(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n, int offset,
                         std::int64_t panel_begin, std::int64_t panel_end, const PackedWeights& out, Half half) {
    const std::int64_t width = out.width;
    const std::int64_t k = out.k;
    const std::int64_t group = k / out.groups;
    const std::int64_t block_elements = block_elements_of(type);
    const std::int64_t groups_per_block = block_elements / group;
    const std::int64_t blocks = k / block_elements;
    const std::int64_t bytes_per_block = block_bytes_of(type);
    // One block column of the panel at a time: decode each row's block, then move 4-byte runs into place.
    DecodedBlock decoded;
    for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        std::uint8_t* levels = out.levels + p * k * width;
        float* scale = out.scale + p * out.groups * width;
        float* min = out.min != nullptr ? out.min + p * out.groups * width : nullptr;
        for (std::int64_t b = 0; b < blocks; ++b) {
            std::uint8_t* block_levels = levels + b * block_elements * width;
            for (std::int64_t lane = 0; lane < width; ++lane) {
                const std::int64_t row = p * width + lane;
                if (row < n) {
                    decode_block(type, w + row * w_row_stride + b * bytes_per_block, offset, half, decoded);
                } else { // padding rows contribute nothing: zero levels, scales and mins
                    std::memset(&decoded, 0, sizeof decoded);
                }
                for (std::int64_t k4 = 0; k4 < block_elements / 4; ++k4) {
                    std::memcpy(block_levels + (k4 * width + lane) * 4, decoded.levels + 4 * k4, 4);
                }
                for (std::int64_t g = 0; g < groups_per_block; ++g) {
                    scale[(b * groups_per_block + g) * width + lane] = decoded.scale[g];
                    if (min != nullptr) {
                        min[(b * groups_per_block + g) * width + lane] = decoded.min[g];
                    }
                }
            }
        }
    }
}

} // namespace
} // namespace nd::backends::cpu::quant::kernels
