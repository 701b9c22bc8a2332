#include "backends/cpu/quant/quants.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/quant/blocks.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::quant {
namespace {

using core::f16_to_f32;
using core::f32_to_f16;

constexpr nd_dtype kQuantTypes[] = {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0,
                                    ND_DTYPE_Q5_1, ND_DTYPE_Q2_K, ND_DTYPE_Q3_K, ND_DTYPE_Q4_K,
                                    ND_DTYPE_Q5_K, ND_DTYPE_Q6_K, ND_DTYPE_Q8_K};

std::vector<float> dequantize(nd_dtype type, const std::vector<std::byte>& row, std::size_t n) {
    std::vector<float> out(n);
    dequantize_row(type, row, out);
    return out;
}

std::vector<std::byte> quantize(nd_dtype type, const std::vector<float>& x) {
    std::vector<std::byte> row(core::dtype_row_bytes(type, x.size()));
    quantize_row(type, x, row);
    return row;
}

// Random block bytes with sane f16 scales, so that every bit of the quants is exercised.
std::vector<std::byte> random_blocks(nd_dtype type, std::size_t blocks, std::mt19937& rng) {
    std::vector<std::byte> bytes(blocks * core::dtype_block_bytes(type));
    for (auto& b : bytes) {
        b = static_cast<std::byte>(rng() & 0xFF);
    }
    // Overwrite the f16 scale fields with values in [0.01, 1) (the offsets are those of blocks.hpp).
    std::uniform_real_distribution<float> scale(0.01f, 1.0f);
    const std::size_t size = core::dtype_block_bytes(type);
    for (std::size_t i = 0; i < blocks; ++i) {
        std::byte* block = bytes.data() + i * size;
        auto put = [&](std::size_t offset) {
            const std::uint16_t h = f32_to_f16(scale(rng));
            std::memcpy(block + offset, &h, 2);
        };
        switch (type) {
        case ND_DTYPE_Q8_0: case ND_DTYPE_Q4_0: case ND_DTYPE_Q5_0: put(0); break;
        case ND_DTYPE_Q4_1: case ND_DTYPE_Q5_1: case ND_DTYPE_Q4_K: case ND_DTYPE_Q5_K: put(0); put(2); break;
        case ND_DTYPE_Q2_K: put(80); put(82); break;
        case ND_DTYPE_Q3_K: put(108); break;
        case ND_DTYPE_Q6_K: put(208); break;
        case ND_DTYPE_Q8_K: {
            const float d = scale(rng);
            std::memcpy(block, &d, 4);
            break;
        }
        default: break;
        }
    }
    return bytes;
}

std::uint8_t u8(const std::byte* p, std::size_t i) { return static_cast<std::uint8_t>(p[i]); }
float half_at(const std::byte* p, std::size_t i) {
    std::uint16_t h;
    std::memcpy(&h, p + i, 2);
    return f16_to_f32(h);
}

// Element e of one block, straight from the GGUF layout written as per-element index formulas (the library
// decodes whole runs in loops; deriving the same numbers another way is what makes this a check of the layout).
float spec_element(nd_dtype type, const std::byte* b, int e) {
    switch (type) {
    case ND_DTYPE_Q8_0: return half_at(b, 0) * static_cast<float>(static_cast<std::int8_t>(u8(b, 2 + e)));
    case ND_DTYPE_Q4_0: {
        const int q = e < 16 ? u8(b, 2 + e) & 0xF : u8(b, 2 + e - 16) >> 4;
        return half_at(b, 0) * static_cast<float>(q - 8);
    }
    case ND_DTYPE_Q4_1: {
        const int q = e < 16 ? u8(b, 4 + e) & 0xF : u8(b, 4 + e - 16) >> 4;
        return half_at(b, 0) * static_cast<float>(q) + half_at(b, 2);
    }
    case ND_DTYPE_Q5_0: case ND_DTYPE_Q5_1: {
        const std::size_t qh_at = type == ND_DTYPE_Q5_0 ? 2 : 4;
        const int low = e < 16 ? u8(b, qh_at + 4 + e) & 0xF : u8(b, qh_at + 4 + e - 16) >> 4;
        const int high = (u8(b, qh_at + e / 8) >> (e % 8)) & 1; // bit e of a little-endian uint32
        const int q = low | (high << 4);
        return type == ND_DTYPE_Q5_0 ? half_at(b, 0) * static_cast<float>(q - 16)
                                     : half_at(b, 0) * static_cast<float>(q) + half_at(b, 2);
    }
    case ND_DTYPE_Q2_K: { // scales[16] qs[64] d dmin
        const int q = (u8(b, 16 + (e / 128) * 32 + e % 32) >> (2 * ((e % 128) / 32))) & 3;
        const int sc = u8(b, e / 16);
        return half_at(b, 80) * static_cast<float>(sc & 0xF) * static_cast<float>(q) -
               half_at(b, 82) * static_cast<float>(sc >> 4);
    }
    case ND_DTYPE_Q3_K: { // hmask[32] qs[64] scales[12] d
        const int sub = e / 16;
        const int low4 = sub < 8 ? u8(b, 96 + sub) & 0xF : u8(b, 96 + sub - 8) >> 4;
        const int high2 = (u8(b, 96 + 8 + sub % 4) >> (2 * (sub / 4))) & 3;
        const int scale = (low4 | (high2 << 4)) - 32;
        const int group = e / 128;
        const int pair = (e % 128) / 32;
        const int low = (u8(b, 32 + group * 32 + e % 32) >> (2 * pair)) & 3;
        const bool mask = (u8(b, e % 32) >> (group * 4 + pair)) & 1;
        return half_at(b, 108) * static_cast<float>(scale) * static_cast<float>(low - (mask ? 0 : 4));
    }
    case ND_DTYPE_Q4_K: case ND_DTYPE_Q5_K: { // d dmin scales[12] (qh[32]) qs[128]
        const int sub = e / 32;
        int scale, min;
        if (sub < 4) {
            scale = u8(b, 4 + sub) & 63;
            min = u8(b, 4 + sub + 4) & 63;
        } else {
            scale = (u8(b, 4 + sub + 4) & 0xF) | ((u8(b, 4 + sub - 4) >> 6) << 4);
            min = (u8(b, 4 + sub + 4) >> 4) | ((u8(b, 4 + sub) >> 6) << 4);
        }
        const std::size_t qs_at = type == ND_DTYPE_Q4_K ? 16 : 48;
        const std::uint8_t byte = u8(b, qs_at + (e / 64) * 32 + e % 32);
        int q = (e % 64) < 32 ? byte & 0xF : byte >> 4;
        if (type == ND_DTYPE_Q5_K) {
            q |= ((u8(b, 16 + e % 32) >> sub) & 1) << 4; // sub-block s takes bit s of qh
        }
        return half_at(b, 0) * static_cast<float>(scale) * static_cast<float>(q) -
               half_at(b, 2) * static_cast<float>(min);
    }
    case ND_DTYPE_Q6_K: { // ql[128] qh[64] scales[16] d
        const int group = e / 128;
        const int quarter = (e % 128) / 32; // which of the four 32-runs of this half
        const int l = e % 32;
        const std::uint8_t low_byte = u8(b, group * 64 + (quarter % 2) * 32 + l);
        const int low = quarter < 2 ? low_byte & 0xF : low_byte >> 4;
        const int high = (u8(b, 128 + group * 32 + l) >> (2 * quarter)) & 3;
        const int scale = static_cast<std::int8_t>(u8(b, 192 + e / 16));
        return half_at(b, 208) * static_cast<float>(scale) * static_cast<float>((low | (high << 4)) - 32);
    }
    case ND_DTYPE_Q8_K: {
        float d;
        std::memcpy(&d, b, 4);
        return d * static_cast<float>(static_cast<std::int8_t>(u8(b, 4 + e)));
    }
    default: return NAN;
    }
}

TEST(Quants, Dequantization_follows_the_gguf_bit_layout_of_every_format) {
    std::mt19937 rng(1234);
    for (nd_dtype type : kQuantTypes) {
        SCOPED_TRACE(core::dtype_name(type));
        const std::size_t blocks = 3;
        const std::size_t per_block = core::dtype_block_elements(type);
        const auto bytes = random_blocks(type, blocks, rng);
        const auto values = dequantize(type, bytes, blocks * per_block);
        for (std::size_t i = 0; i < blocks; ++i) {
            const std::byte* block = bytes.data() + i * core::dtype_block_bytes(type);
            for (std::size_t e = 0; e < per_block; ++e) {
                ASSERT_FLOAT_EQ(values[i * per_block + e], spec_element(type, block, static_cast<int>(e)))
                    << "block " << i << " element " << e;
            }
        }
    }
}

TEST(Quants, Hand_built_q4_0_and_q8_0_blocks_decode_to_known_values) {
    BlockQ4_0 q4{};
    q4.d = f32_to_f16(0.5f);
    q4.qs[0] = 0x0F; // element 0 = 15 - 8 = 7 -> 3.5; element 16 = 0 - 8 -> -4
    q4.qs[3] = 0x98; // element 3 = 8 - 8 = 0; element 19 = 9 - 8 = 1 -> 0.5
    std::vector<std::byte> row(sizeof q4);
    std::memcpy(row.data(), &q4, sizeof q4);
    const auto v = dequantize(ND_DTYPE_Q4_0, row, 32);
    EXPECT_EQ(v[0], 3.5f);
    EXPECT_EQ(v[16], -4.0f);
    EXPECT_EQ(v[3], 0.0f);
    EXPECT_EQ(v[19], 0.5f);
    EXPECT_EQ(v[1], -4.0f); // a zero byte is level 0, value -8 * d

    BlockQ8_0 q8{};
    q8.d = f32_to_f16(0.25f);
    q8.qs[5] = -128;
    q8.qs[31] = 127;
    std::vector<std::byte> row8(sizeof q8);
    std::memcpy(row8.data(), &q8, sizeof q8);
    const auto w = dequantize(ND_DTYPE_Q8_0, row8, 32);
    EXPECT_EQ(w[5], -32.0f);
    EXPECT_EQ(w[31], 31.75f);
    EXPECT_EQ(w[0], 0.0f);
}

// One block per remaining format built byte by byte from the GGUF layout, with the values of a few elements
// worked out by hand (comments give the arithmetic).
std::vector<float> decode_block(nd_dtype type, const std::vector<std::uint8_t>& bytes) {
    EXPECT_EQ(bytes.size(), core::dtype_block_bytes(type));
    std::vector<std::byte> row(bytes.size());
    std::memcpy(row.data(), bytes.data(), bytes.size());
    return dequantize(type, row, core::dtype_block_elements(type));
}

void put_half(std::vector<std::uint8_t>& b, std::size_t at, float v) {
    const std::uint16_t h = f32_to_f16(v);
    std::memcpy(b.data() + at, &h, 2);
}

TEST(Quants, Hand_built_blocks_of_every_other_format_decode_to_known_values) {
    { // Q4_1: d, m, qs[16]. Byte 2 = 0x3A: element 2 = 10 * 0.5 - 1, element 18 = 3 * 0.5 - 1.
        std::vector<std::uint8_t> b(20, 0);
        put_half(b, 0, 0.5f);
        put_half(b, 2, -1.0f);
        b[4 + 2] = 0x3A;
        const auto v = decode_block(ND_DTYPE_Q4_1, b);
        EXPECT_EQ(v[2], 4.0f);
        EXPECT_EQ(v[18], 0.5f);
        EXPECT_EQ(v[0], -1.0f);
    }
    { // Q5_0: d, qh (bit j = fifth bit of element j), qs. Element 1: (1 | 16) - 16 = 1; element 17: 2 - 16.
        std::vector<std::uint8_t> b(22, 0);
        put_half(b, 0, 0.25f);
        b[2] = 0x02;     // qh bit 1
        b[6 + 1] = 0x21; // qs[1]: element 1 low nibble 1, element 17 high nibble 2
        const auto v = decode_block(ND_DTYPE_Q5_0, b);
        EXPECT_EQ(v[1], 0.25f);
        EXPECT_EQ(v[17], -3.5f);
        EXPECT_EQ(v[0], -4.0f); // level 0 - 16
    }
    { // Q5_1: d, m, qh, qs. Element 31: high nibble of qs[15] = 15, qh bit 31 -> 31 * 1 + 0.5.
        std::vector<std::uint8_t> b(24, 0);
        put_half(b, 0, 1.0f);
        put_half(b, 2, 0.5f);
        b[4 + 3] = 0x80; // qh bit 31 (little-endian)
        b[8 + 15] = 0xF0;
        const auto v = decode_block(ND_DTYPE_Q5_1, b);
        EXPECT_EQ(v[31], 31.5f);
        EXPECT_EQ(v[15], 0.5f);
    }
    { // Q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin. Element e of half h = e / 128
      // has bits 2 * ((e % 128) / 32) of qs[h * 32 + e % 32]; sub-block e / 16.
        std::vector<std::uint8_t> b(84, 0);
        put_half(b, 80, 1.0f);
        put_half(b, 82, 0.5f);
        b[0] = 0x23;       // sub-block 0: scale 3, min 2
        b[2] = 0x14;       // sub-block 2: scale 4, min 1
        b[5] = 0x11;       // sub-block 5: scale 1, min 1
        b[6] = 0x01;       // sub-block 6: scale 1, min 0
        b[8] = 0x05;       // sub-block 8: scale 5, min 0
        b[16 + 0] = 0xE7;  // elements 0, 32, 64, 96: quants 3, 1, 2, 3
        b[16 + 16] = 0x30; // element 80 (bits 4-5 of byte 16): quant 3
        b[16 + 37] = 0x02; // element 133 (half 1, byte 5): quant 2
        const auto v = decode_block(ND_DTYPE_Q2_K, b);
        EXPECT_EQ(v[0], 8.0f);    // 1 * 3 * 3 - 0.5 * 2
        EXPECT_EQ(v[32], 3.5f);   // 1 * 4 * 1 - 0.5 * 1
        EXPECT_EQ(v[64], 0.0f);   // sub-block 4: scale 0, min 0
        EXPECT_EQ(v[96], 3.0f);   // 1 * 1 * 3 - 0
        EXPECT_EQ(v[80], 2.5f);   // 1 * 1 * 3 - 0.5 * 1
        EXPECT_EQ(v[133], 10.0f); // 1 * 5 * 2
        EXPECT_EQ(v[1], -1.0f);   // quant 0: -0.5 * 2
    }
    { // Q3_K: hmask[32], qs[64], scales[12] (6-bit, +32), d. Scale 0 = 34 - 32 = 2 (low nibble of byte 0 = 2,
      // bits 0-1 of byte 8 = 2); scale 9 = 29 - 32 = -3 (high nibble of byte 1 = 13, bits 4-5 of byte 9 = 1).
        std::vector<std::uint8_t> b(110, 0);
        put_half(b, 108, 1.0f);
        b[96 + 0] = 0x02;
        b[96 + 8] = 0x02;
        b[96 + 1] = 0xD0;
        b[96 + 9] = 0x10;
        b[32 + 0] = 0x01;  // element 0: low bits 1
        b[0] = 0x01;       // element 0: hmask bit 0 set, no -4
        b[32 + 48] = 0x03; // element 144 (half 1, byte 16): low bits 3
        b[16] = 0x10;      // element 144: hmask[16] bit 4 (half 1, first run) set
        const auto v = decode_block(ND_DTYPE_Q3_K, b);
        EXPECT_EQ(v[0], 2.0f);    // 2 * 1
        EXPECT_EQ(v[1], -8.0f);   // 2 * (0 - 4)
        EXPECT_EQ(v[144], -9.0f); // -3 * 3
        EXPECT_EQ(v[16], 128.0f); // sub-block 1: scale 0 - 32, quant 0 - 4
    }
    for (nd_dtype type : {ND_DTYPE_Q4_K, ND_DTYPE_Q5_K}) {
        // d, dmin, scales[12], (qh[32]), qs[128]. Sub-block 0: scale 5, min 3 (bytes 0 and 4). Sub-block 5:
        // scale 33 = 0b100001, min 18 = 0b010010: low nibbles in byte 9 (0x21), top bits in bits 6-7 of
        // byte 1 (scale: 2) and byte 5 (min: 1).
        SCOPED_TRACE(core::dtype_name(type));
        const bool five = type == ND_DTYPE_Q5_K;
        const std::size_t qs = five ? 48 : 16;
        std::vector<std::uint8_t> b(five ? 176 : 144, 0);
        put_half(b, 0, 1.0f);
        put_half(b, 2, 0.25f);
        b[4 + 0] = 5;
        b[4 + 4] = 3;
        b[4 + 9] = 0x21;
        b[4 + 1] = 0x80;
        b[4 + 5] = 0x40;
        b[qs + 0] = 0x07;  // element 0: low nibble of byte 0
        b[qs + 65] = 0xA0; // element 161 (run 5 = high nibbles of bytes 64..95): 10
        if (five) {
            b[16 + 0] = 0x01; // element 0: qh[0] bit 0 -> +16
            b[16 + 1] = 0x20; // element 161: qh[1] bit 5 -> +16
        }
        const auto v = decode_block(type, b);
        EXPECT_EQ(v[0], five ? 114.25f : 34.25f);   // 5 * (7 [+ 16]) - 0.25 * 3
        EXPECT_EQ(v[161], five ? 853.5f : 325.5f);  // 33 * (10 [+ 16]) - 0.25 * 18
        EXPECT_EQ(v[32], 0.0f);                     // sub-block 1: scale 0, min 0
    }
    { // Q6_K: ql[128], qh[64], int8 scales[16], d. Element h*128 + q*32 + l: nibble (low for q < 2) of
      // ql[h*64 + (q % 2)*32 + l], bits 2q of qh[h*32 + l]; value d * scale[e / 16] * (q6 - 32).
        std::vector<std::uint8_t> b(210, 0);
        put_half(b, 208, 0.5f);
        b[192 + 0] = 3;
        b[192 + 4] = static_cast<std::uint8_t>(-2);
        b[192 + 10] = 1;
        b[0] = 0x05;         // element 0: low 5
        b[128 + 0] = 0x02;   // element 0: high 2 -> 37
        b[3] = 0xC0;         // element 67 (quarter 2, l 3): high nibble 12
        b[128 + 3] = 0x10;   // element 67: bits 4-5 = 1 -> 28
        b[103] = 0x0F;       // element 167 (half 1, quarter 1, l 7): low nibble of ql[64 + 32 + 7]
        b[128 + 39] = 0x0C;  // element 167: bits 2-3 of qh[32 + 7] = 3 -> 63
        const auto v = decode_block(ND_DTYPE_Q6_K, b);
        EXPECT_EQ(v[0], 7.5f);    // 0.5 * 3 * 5
        EXPECT_EQ(v[67], 4.0f);   // 0.5 * -2 * -4
        EXPECT_EQ(v[167], 15.5f); // 0.5 * 1 * 31
        EXPECT_EQ(v[1], -48.0f);  // 0.5 * 3 * -32
    }
    { // Q8_K: float d, int8 qs[256], int16 bsums[16].
        std::vector<std::uint8_t> b(292, 0);
        const float d = 0.125f;
        std::memcpy(b.data(), &d, 4);
        b[4 + 10] = static_cast<std::uint8_t>(-100);
        const auto v = decode_block(ND_DTYPE_Q8_K, b);
        EXPECT_EQ(v[10], -12.5f);
        EXPECT_EQ(v[11], 0.0f);
    }
}

TEST(Quants, Requantizing_dequantized_legacy_rows_reproduces_their_bytes) {
    // A dequantized block's extreme sits exactly on its grid, so the reference quantizer finds the same scale
    // (and min) and every value back on its level: quantize(dequantize(q)) == q, byte for byte.
    std::mt19937 rng(31);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1}) {
        SCOPED_TRACE(core::dtype_name(type));
        for (float spread : {1e-2f, 1.0f, 100.0f}) {
            std::normal_distribution<float> normal(0.2f * spread, spread);
            std::vector<float> x(32 * 64);
            for (float& v : x) {
                v = normal(rng);
            }
            const auto once = quantize(type, x);
            const auto twice = quantize(type, dequantize(type, once, x.size()));
            ASSERT_EQ(once, twice) << "spread " << spread;
        }
    }
}

TEST(Quants, Q8_0_and_q4_0_quantize_as_the_reference_quantizer_does) {
    // The reference picks d from the value of largest magnitude; Q4_0 maps it to level 0 (-8 * d).
    std::vector<float> x(32);
    for (int i = 0; i < 32; ++i) {
        x[static_cast<std::size_t>(i)] = static_cast<float>(i - 16) / 4.0f; // -4 .. 3.75
    }
    const auto q4 = quantize(ND_DTYPE_Q4_0, x);
    BlockQ4_0 b4;
    std::memcpy(&b4, q4.data(), sizeof b4);
    EXPECT_EQ(f16_to_f32(b4.d), 0.5f);  // -4 / -8
    EXPECT_EQ(b4.qs[0] & 0xF, 0);       // x[0] = -4 -> -8 + 8
    EXPECT_EQ(b4.qs[15] >> 4, 15);      // x[31] = 3.75 -> 7.5 + 8.5 = 16 -> clamped to 15

    const auto q8 = quantize(ND_DTYPE_Q8_0, x);
    BlockQ8_0 b8;
    std::memcpy(&b8, q8.data(), sizeof b8);
    EXPECT_EQ(b8.d, f32_to_f16(4.0f / 127.0f));
    EXPECT_EQ(b8.qs[0], -127);
    EXPECT_EQ(b8.qs[16], 0);
    EXPECT_EQ(b8.qs[31], 119); // 3.75 * 127 / 4 = 119.06
}

// Relative RMS error bounds on Gaussian rows (mean 0.1 sigma). For rounding to a grid of step s the RMS error
// is s / sqrt(12); the steps come from each block's range (e.g. Q8_0: s = max|x| / 127, with max|x| ~ 2.1 sigma
// in a block of 32, giving ~0.005 sigma). Worst measured with these quantizers over 117 rows of 2048 (39 seeds
// x the three spreads below): Q8_0 0.0057, Q8_K 0.0075, Q4_0 0.089, Q4_1 0.080, Q5_0 0.044, Q5_1 0.039,
// Q2_K 0.31, Q3_K 0.16, Q4_K 0.074, Q5_K 0.038, Q6_K 0.022. The bounds sit above those, yet far below what a
// wrong layout or scale gives (~1). The legacy formats also have a per-element bound (next test).
double rms_bound(nd_dtype type) {
    switch (type) {
    case ND_DTYPE_Q8_0: return 0.008;
    case ND_DTYPE_Q8_K: return 0.009;
    case ND_DTYPE_Q4_0: return 0.12;
    case ND_DTYPE_Q4_1: return 0.10;
    case ND_DTYPE_Q5_0: return 0.06;
    case ND_DTYPE_Q5_1: return 0.05;
    case ND_DTYPE_Q2_K: return 0.40;
    case ND_DTYPE_Q3_K: return 0.20;
    case ND_DTYPE_Q4_K: return 0.10;
    case ND_DTYPE_Q5_K: return 0.05;
    case ND_DTYPE_Q6_K: return 0.028;
    default: return 0;
    }
}

TEST(Quants, Round_trip_error_is_within_each_formats_bound) {
    std::mt19937 rng(42);
    for (nd_dtype type : kQuantTypes) {
        SCOPED_TRACE(core::dtype_name(type));
        for (float spread : {1e-3f, 1.0f, 300.0f}) { // weights span many magnitudes across models
            std::normal_distribution<float> normal(0.1f * spread, spread);
            std::vector<float> x(256 * 8);
            for (float& v : x) {
                v = normal(rng);
            }
            const auto y = dequantize(type, quantize(type, x), x.size());
            double err = 0, ref = 0;
            for (std::size_t i = 0; i < x.size(); ++i) {
                err += (y[i] - x[i]) * static_cast<double>(y[i] - x[i]);
                ref += static_cast<double>(x[i]) * x[i];
            }
            const double relative = std::sqrt(err / ref);
            EXPECT_LT(relative, rms_bound(type)) << "spread " << spread;
            EXPECT_GT(relative, 0.0) << "a lossy format reproduced Gaussian data exactly: suspicious";
        }
    }
}

TEST(Quants, Legacy_formats_keep_every_element_within_half_a_step) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-3.0f, 5.0f);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1}) {
        SCOPED_TRACE(core::dtype_name(type));
        std::vector<float> x(32 * 16);
        for (float& v : x) {
            v = uniform(rng);
        }
        const auto row = quantize(type, x);
        const auto y = dequantize(type, row, x.size());
        for (std::size_t blk = 0; blk < 16; ++blk) {
            std::uint16_t d_bits;
            std::memcpy(&d_bits, row.data() + blk * core::dtype_block_bytes(type), 2);
            const float step = std::fabs(f16_to_f32(d_bits));
            for (std::size_t i = blk * 32; i < blk * 32 + 32; ++i) {
                // Half a step, plus the f16 rounding of the scale (and min) across up to 31 steps. Q4_0 and Q5_0
                // clamp the largest positive level, which costs at most one more step there.
                const bool clamps = type == ND_DTYPE_Q4_0 || type == ND_DTYPE_Q5_0;
                const float bound = step * (clamps ? 1.0f : 0.5f) + 32.0f * step * 1e-3f + 5e-3f;
                ASSERT_LE(std::fabs(y[i] - x[i]), bound) << "element " << i;
            }
        }
    }
}

TEST(Quants, Requantizing_dequantized_legacy_blocks_is_stable) {
    std::mt19937 rng(99);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_1}) {
        SCOPED_TRACE(core::dtype_name(type));
        std::vector<float> x(32 * 8);
        for (float& v : x) {
            v = normal(rng);
        }
        const auto once = quantize(type, x);
        const auto twice = quantize(type, dequantize(type, once, x.size()));
        // Values already on the grid quantize back onto (nearly) the same grid: only the f16 rounding of the
        // recomputed scale may move them.
        const auto y1 = dequantize(type, once, x.size());
        const auto y2 = dequantize(type, twice, x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            ASSERT_NEAR(y1[i], y2[i], 1e-2f * std::fabs(y1[i]) + 1e-3f) << i;
        }
    }
}

TEST(Quants, All_zero_rows_stay_zero) {
    for (nd_dtype type : kQuantTypes) {
        SCOPED_TRACE(core::dtype_name(type));
        const std::vector<float> x(256, 0.0f);
        for (float v : dequantize(type, quantize(type, x), x.size())) {
            ASSERT_EQ(v, 0.0f);
        }
    }
}

TEST(Quants, Bad_sizes_and_types_are_rejected_with_a_message) {
    std::vector<float> x(48);
    std::vector<std::byte> row(100);
    try {
        quantize_row(ND_DTYPE_Q4_0, x, row);
        FAIL() << "48 elements are not whole Q4_0 blocks";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("Q4_0"), std::string::npos) << e.what();
    }
    std::vector<float> y(32);
    try {
        quantize_row(ND_DTYPE_Q8_0, y, row);
        FAIL() << "the destination has the wrong size";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("34 bytes, not 100"), std::string::npos) << e.what();
    }
    EXPECT_THROW(dequantize_row(ND_DTYPE_I32, row, y), core::Error);
}

TEST(Quants, F16_and_bf16_rows_convert_like_the_scalar_conversions) {
    const std::vector<float> x = {1.0f, -2.5f, 65504.0f, 1e-8f, 3.14159f};
    for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16, ND_DTYPE_F32}) {
        const auto y = dequantize(type, quantize(type, x), x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float expected = type == ND_DTYPE_F16    ? f16_to_f32(f32_to_f16(x[i]))
                                   : type == ND_DTYPE_BF16 ? core::bf16_to_f32(core::f32_to_bf16(x[i]))
                                                           : x[i];
            EXPECT_EQ(y[i], expected);
        }
    }
}

} // namespace
} // namespace nd::backends::cpu::quant
