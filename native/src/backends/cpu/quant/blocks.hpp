// The GGML block structs, field for field as GGUF files store them (little-endian). A block holds 32
// elements (the "legacy" formats) or 256 (the K formats, "super-blocks" of 8 or 16 sub-blocks). Scales are
// IEEE half floats stored as their bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"

namespace nd::backends::cpu::quant {

inline constexpr int kBlock = 32;   // elements of a legacy block
inline constexpr int kSuper = 256;  // elements of a K super-block
inline constexpr int kScaleBytes = 12; // packed 6-bit scales and mins of Q3_K/Q4_K/Q5_K

// value = (q - 8) * d; byte j holds element j (low nibble) and element j + 16 (high nibble).
struct BlockQ4_0 {
    std::uint16_t d;
    std::uint8_t qs[kBlock / 2];
};

// value = q * d + m.
struct BlockQ4_1 {
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qs[kBlock / 2];
};

// value = (q - 16) * d; the fifth bit of element j is bit j of qh (a little-endian uint32).
struct BlockQ5_0 {
    std::uint16_t d;
    std::uint8_t qh[4];
    std::uint8_t qs[kBlock / 2];
};

// value = q * d + m, 5-bit q as in Q5_0.
struct BlockQ5_1 {
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qh[4];
    std::uint8_t qs[kBlock / 2];
};

// value = q * d.
struct BlockQ8_0 {
    std::uint16_t d;
    std::int8_t qs[kBlock];
};

// 16 sub-blocks of 16: scales[i] low nibble is the sub-block scale, high nibble its min (both times the
// f16 super-scales d and dmin); 2-bit quants, value = d * scale * q - dmin * min.
struct BlockQ2_K {
    std::uint8_t scales[kSuper / 16];
    std::uint8_t qs[kSuper / 4];
    std::uint16_t d;
    std::uint16_t dmin;
};

// 16 sub-blocks of 16: 2 low bits in qs, the third in hmask (set means +0, clear means -4),
// 6-bit signed scales (stored + 32) packed in 12 bytes; value = d * (scale - 32) * q.
struct BlockQ3_K {
    std::uint8_t hmask[kSuper / 8];
    std::uint8_t qs[kSuper / 4];
    std::uint8_t scales[kScaleBytes];
    std::uint16_t d;
};

// 8 sub-blocks of 32: 6-bit scales and mins packed in 12 bytes; value = d * scale * q - dmin * min.
struct BlockQ4_K {
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kScaleBytes];
    std::uint8_t qs[kSuper / 2];
};

// Q4_K plus a fifth bit per element in qh.
struct BlockQ5_K {
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kScaleBytes];
    std::uint8_t qh[kSuper / 8];
    std::uint8_t qs[kSuper / 2];
};

// 16 sub-blocks of 16: 4 low bits in ql, 2 high bits in qh, int8 scales; value = d * scale * (q - 32).
struct BlockQ6_K {
    std::uint8_t ql[kSuper / 2];
    std::uint8_t qh[kSuper / 4];
    std::int8_t scales[kSuper / 16];
    std::uint16_t d;
};

// Activations for K-quant dot products: value = d * q, with the sums of each 16 quants precomputed.
struct BlockQ8_K {
    float d;
    std::int8_t qs[kSuper];
    std::int16_t bsums[kSuper / 16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K/Q5_K: sub-blocks 0-3 keep
// theirs in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); 4-7 keep their low 4 bits in bytes 8-11 and
// their top 2 bits in the spare top bits of bytes 0-7.
inline void unpack_scale_min_k4(int j, const std::uint8_t* packed, std::uint8_t& scale, std::uint8_t& min) noexcept {
    if (j < 4) {
        scale = packed[j] & 63;
        min = packed[j + 4] & 63;
    } else {
        scale = static_cast<std::uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        min = static_cast<std::uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

} // namespace nd::backends::cpu::quant
