// Weight packing for the AVX2 variant of the quantized matmul (quant_matmul_kernels.hpp): panels of 8 weight
// rows. Compiled with the AVX2 flags (native/CMakeLists.txt).
//
// Packing a panel of 8 weight rows, one GGML block column at a time: each row's block is decoded with vector
// code into 32 or 256 bytes of a row-major scratch (decode_levels), then each 32-k chunk of the 8 rows is
// transposed into the panel's [k / 4][8][4] layout (transpose_8x8). With the formats' offsets (avx2_format)
// the stored level is the quant as the file holds it, so decoding is bit extraction. Byte-identical to the
// generic packer.
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"
#include "backends/cpu/quant/weight_levels.hpp"

namespace nd::backends::cpu::quant::kernels {

namespace {

constexpr int kWidth = 8; // panel columns: one ymm

float half_to_float(std::uint16_t h) {
    return _cvtsh_ss(h);
}

// 32 bytes, 0xFF where the bit of `bits` with the byte's index is set.
__m256i expand_bits(std::uint32_t bits) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                               _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// 0xFF in the bytes of v that have bit `bit` set.
__m256i bit_set(__m256i v, int bit) {
    const __m256i mask = _mm256_set1_epi8(static_cast<char>(1 << bit));
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, mask), mask);
}

// Decodes one block at p into levels (level + the avx2_format offset), group scales and mins.
void decode_levels(nd_dtype type, const std::byte* p, std::uint8_t* levels, float* scale, float* min) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    auto load16 = [](const std::byte* at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at)); };
    auto load32 = [](const std::byte* at) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)); };
    auto store32 = [](std::uint8_t* at, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(at), v); };
    // 16 bytes of packed nibbles -> 32 bytes: the low nibbles, then the high nibbles.
    auto nibbles = [&](__m128i q) {
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
        return _mm256_and_si256(both, low4);
    };
    auto half_at = [](const std::byte* at) {
        std::uint16_t h;
        std::memcpy(&h, at, 2);
        return half_to_float(h);
    };
    switch (type) {
    case ND_DTYPE_Q8_0: // signed levels (avx2_format's offset 0): the bytes as they are
        store32(levels, load32(p + 2));
        scale[0] = half_at(p);
        return;
    case ND_DTYPE_Q4_0:
    case ND_DTYPE_Q4_1:
        store32(levels, nibbles(load16(p + (type == ND_DTYPE_Q4_0 ? 2 : 4))));
        scale[0] = half_at(p);
        min[0] = type == ND_DTYPE_Q4_1 ? half_at(p + 2) : 0.0f;
        return;
    case ND_DTYPE_Q5_0:
    case ND_DTYPE_Q5_1: {
        const bool has_min = type == ND_DTYPE_Q5_1;
        std::uint32_t qh;
        std::memcpy(&qh, p + (has_min ? 4 : 2), 4);
        const __m256i fifth = _mm256_and_si256(expand_bits(qh), _mm256_set1_epi8(0x10));
        store32(levels, _mm256_or_si256(nibbles(load16(p + (has_min ? 8 : 6))), fifth));
        scale[0] = half_at(p);
        min[0] = has_min ? half_at(p + 2) : 0.0f;
        return;
    }
    case ND_DTYPE_Q8_K: {
        float d;
        std::memcpy(&d, p, 4);
        for (int i = 0; i < kSuper; i += 32) {
            store32(levels + i, load32(p + 4 + i));
        }
        for (int g = 0; g < 8; ++g) {
            scale[g] = d;
        }
        return;
    }
    case ND_DTYPE_Q4_K:
    case ND_DTYPE_Q5_K: {
        // d, dmin, scales[12], (qh[32]), qs[128]: run j of 32 is a nibble of qs[(j / 2) * 32 ..], its fifth
        // bit is bit j of each qh byte.
        const bool five = type == ND_DTYPE_Q5_K;
        const std::byte* qs = p + (five ? 48 : 16);
        const __m256i qh = five ? load32(p + 16) : _mm256_setzero_si256();
        const __m256i sixteen = _mm256_set1_epi8(0x10);
        for (int j = 0; j < 8; j += 2) {
            const __m256i q = load32(qs + j * 16);
            __m256i lo = _mm256_and_si256(q, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_and_si256(bit_set(qh, j), sixteen));
                hi = _mm256_or_si256(hi, _mm256_and_si256(bit_set(qh, j + 1), sixteen));
            }
            store32(levels + j * 32, lo);
            store32(levels + j * 32 + 32, hi);
        }
        std::uint8_t packed[kScaleBytes];
        std::memcpy(packed, p + 4, kScaleBytes);
        const float d = half_at(p);
        const float dmin = half_at(p + 2);
        for (int g = 0; g < 8; ++g) {
            int sc = 0;
            int m = 0;
            scale_min_k4(g, packed, sc, m);
            scale[g] = d * static_cast<float>(sc);
            min[g] = -(dmin * static_cast<float>(m));
        }
        return;
    }
    case ND_DTYPE_Q6_K: {
        // Element h*128 + q*32 + l: nibble (low for q < 2) of ql[h*64 + (q % 2)*32 + l], bits 2q of qh[h*32 + l].
        for (int h = 0; h < 2; ++h) {
            const __m256i qh = load32(p + 128 + h * 32);
            for (int q = 0; q < 4; ++q) {
                const __m256i ql = load32(p + h * 64 + (q % 2) * 32);
                const __m256i low = q < 2 ? _mm256_and_si256(ql, low4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4);
                const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * q), _mm256_set1_epi8(3));
                store32(levels + h * 128 + q * 32, _mm256_or_si256(low, _mm256_slli_epi16(high, 4)));
            }
        }
        const float d = half_at(p + 208);
        for (int g = 0; g < 16; ++g) {
            scale[g] = d * static_cast<float>(static_cast<std::int8_t>(p[192 + g]));
        }
        return;
    }
    case ND_DTYPE_Q2_K:
    case ND_DTYPE_Q3_K: {
        // Element h*128 + j*32 + l: bits 2j of qs[h*32 + l]; Q3_K adds 4 when bit h*4 + j of hmask[l] is set.
        const bool three = type == ND_DTYPE_Q3_K;
        const std::byte* qs = p + (three ? 32 : 16);
        const __m256i hmask = three ? load32(p) : _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load32(qs + h * 32);
            for (int j = 0; j < 4; ++j) {
                __m256i level = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), _mm256_set1_epi8(3));
                if (three) {
                    level = _mm256_or_si256(level, _mm256_and_si256(bit_set(hmask, h * 4 + j), _mm256_set1_epi8(4)));
                }
                store32(levels + h * 128 + j * 32, level);
            }
        }
        if (three) {
            std::uint8_t packed[kScaleBytes];
            std::memcpy(packed, p + 96, kScaleBytes);
            const float d = half_at(p + 108);
            for (int g = 0; g < 16; ++g) {
                scale[g] = d * static_cast<float>(scale_q3_k(g, packed));
            }
        } else {
            const float d = half_at(p + 80);
            const float dmin = half_at(p + 82);
            for (int g = 0; g < 16; ++g) {
                const auto sc = static_cast<std::uint8_t>(p[g]);
                scale[g] = d * static_cast<float>(sc & 0xF);
                min[g] = -(dmin * static_cast<float>(sc >> 4));
            }
        }
        return;
    }
    default: return;
    }
}

// out + 32 * c (c = 0..7) receives {row 0 dword c, ..., row 7 dword c}; row r is at rows + r * row_stride.
void transpose_8x8(const std::uint8_t* rows, std::int64_t row_stride, std::uint8_t* out) {
    __m256i r[8];
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + i * row_stride));
    }
    // Interleave dwords, then qwords, within 128-bit halves; then swap halves.
    __m256i t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);     // r_i0 r_j0 r_i1 r_j1 | r_i4 r_j4 r_i5 r_j5
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]); // r_i2 r_j2 r_i3 r_j3 | r_i6 r_j6 r_i7 r_j7
    }
    __m256i u[8];
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);         // column 0 of rows i..i+3 | column 4
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);     // column 1 | column 5
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]); // column 2 | column 6
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]); // column 3 | column 7
    }
    for (int c = 0; c < 4; ++c) {
        const __m256i low = _mm256_permute2x128_si256(u[c], u[c + 4], 0x20);  // column c, rows 0..7
        const __m256i high = _mm256_permute2x128_si256(u[c], u[c + 4], 0x31); // column c + 4
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * c), low);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * (c + 4)), high);
    }
}

} // namespace

void pack_panels_avx2(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                 const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                 const PackedWeights& out) {
    if (format.offset != avx2_format(type).offset) { // not the offsets decode_levels produces
        pack_panels_generic(w, w_row_stride, type, n, format.offset, panel_begin, panel_end, out, half_to_float);
        return;
    }
    const std::int64_t elements = block_elements_of(type);
    const std::int64_t bytes = block_bytes_of(type);
    const std::int64_t groups_per_block = elements / format.group;
    alignas(32) std::uint8_t levels[kWidth][kSuper];
    float scale[kWidth][16];
    float min[kWidth][16] = {};
    for (std::int64_t p = panel_begin; p < panel_end; ++p) {
        std::uint8_t* panel = out.levels + p * out.k * kWidth;
        float* panel_scale = out.scale + p * out.groups * kWidth;
        float* panel_min = out.min != nullptr ? out.min + p * out.groups * kWidth : nullptr;
        const std::int64_t rows = n - p * kWidth < kWidth ? n - p * kWidth : kWidth;
        for (std::int64_t lane = rows; lane < kWidth; ++lane) { // padding rows: nothing
            std::memset(levels[lane], 0, sizeof levels[lane]);
            for (int g = 0; g < 16; ++g) {
                scale[lane][g] = 0.0f;
                min[lane][g] = 0.0f;
            }
        }
        for (std::int64_t b = 0; b < out.k / elements; ++b) {
            const std::byte* block = w + p * kWidth * w_row_stride + b * bytes;
            for (std::int64_t lane = 0; lane < rows; ++lane) {
                decode_levels(type, block + lane * w_row_stride, levels[lane], scale[lane], min[lane]);
            }
            for (std::int64_t c = 0; c < elements; c += 32) {
                transpose_8x8(&levels[0][c], kSuper, panel + (b * elements + c) * kWidth);
            }
            for (std::int64_t g = 0; g < groups_per_block; ++g) {
                for (int lane = 0; lane < kWidth; ++lane) {
                    panel_scale[(b * groups_per_block + g) * kWidth + lane] = scale[lane][g];
                    if (panel_min != nullptr) {
                        panel_min[(b * groups_per_block + g) * kWidth + lane] = min[lane][g];
                    }
                }
            }
        }
    }
}

} // namespace nd::backends::cpu::quant::kernels
