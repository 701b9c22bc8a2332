// Weight packing for the AVX-512 variant of the quantized matmul (quant_matmul_kernels.hpp): panels of 32
// weight rows. Compiled with the AVX-512 flags (native/CMakeLists.txt); uses AVX-512 BW/VL mask operations.
//
// Packing a panel of 32 weight rows, one GGML block column at a time: each row's block is decoded with vector
// code into 32 (legacy) or 256 (K types) bytes of a row-major scratch (decode_levels), then every 32-k
// chunk of 16 rows is transposed into the panel's [k / 4][32][4] layout (transpose_16x8), twice per chunk.
// With the formats' natural offsets the stored level is simply the unsigned quant as the file holds it
// (q + 128 for Q8_0/Q8_K), so decoding is bit extraction. The result is byte-identical to the generic packer.

// GCC 12 reports "may be used uninitialized" inside many AVX-512 intrinsics (their pass-through operand is a
// deliberately undefined vector; GCC bug 105593, fixed in GCC 13). The pragma must precede the header, where
// the warnings are located.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstring>
#include <utility>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"
#include "backends/cpu/quant/weight_levels.hpp"

namespace nd::backends::cpu::quant::kernels {

namespace {

constexpr int kWidth = 32; // panel columns: two zmm

float half_to_float(std::uint16_t h) {
    return _cvtsh_ss(h);
}

// Decodes one block at p into levels (level + natural offset), group scales and mins.
void decode_levels(nd_dtype type, const std::byte* p, std::uint8_t* levels, float* scale, float* min) {
    const __m128i low4 = _mm_set1_epi8(0x0F);
    const __m256i low4_256 = _mm256_set1_epi8(0x0F);
    auto load16 = [](const std::byte* at) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at)); };
    auto load32 = [](const std::byte* at) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at)); };
    auto store16 = [](std::uint8_t* at, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(at), v); };
    auto store32 = [](std::uint8_t* at, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(at), v); };
    auto half_at = [](const std::byte* at) {
        std::uint16_t h;
        std::memcpy(&h, at, 2);
        return half_to_float(h);
    };
    auto u32_at = [](const std::byte* at) {
        std::uint32_t v;
        std::memcpy(&v, at, 4);
        return v;
    };
    switch (type) {
    case ND_DTYPE_Q8_0:
        store32(levels, _mm256_xor_si256(load32(p + 2), _mm256_set1_epi8(static_cast<char>(0x80))));
        scale[0] = half_at(p);
        return;
    case ND_DTYPE_Q4_0:
    case ND_DTYPE_Q4_1: {
        const __m128i qs = load16(p + (type == ND_DTYPE_Q4_0 ? 2 : 4));
        store16(levels, _mm_and_si128(qs, low4));
        store16(levels + 16, _mm_and_si128(_mm_srli_epi16(qs, 4), low4));
        scale[0] = half_at(p);
        min[0] = type == ND_DTYPE_Q4_1 ? half_at(p + 2) : 0.0f;
        return;
    }
    case ND_DTYPE_Q5_0:
    case ND_DTYPE_Q5_1: {
        const bool has_min = type == ND_DTYPE_Q5_1;
        const std::uint32_t qh = u32_at(p + (has_min ? 4 : 2));
        const __m128i qs = load16(p + (has_min ? 8 : 6));
        const __m128i fifth = _mm_set1_epi8(0x10);
        const __m128i lo = _mm_or_si128(_mm_and_si128(qs, low4), _mm_maskz_mov_epi8(static_cast<__mmask16>(qh), fifth));
        const __m128i hi = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(qs, 4), low4),
                                        _mm_maskz_mov_epi8(static_cast<__mmask16>(qh >> 16), fifth));
        store16(levels, lo);
        store16(levels + 16, hi);
        scale[0] = half_at(p);
        min[0] = has_min ? half_at(p + 2) : 0.0f;
        return;
    }
    case ND_DTYPE_Q8_K: {
        float d;
        std::memcpy(&d, p, 4);
        for (int i = 0; i < kSuper; i += 32) {
            store32(levels + i, _mm256_xor_si256(load32(p + 4 + i), _mm256_set1_epi8(static_cast<char>(0x80))));
        }
        for (int g = 0; g < 8; ++g) {
            scale[g] = d;
        }
        return;
    }
    case ND_DTYPE_Q4_K:
    case ND_DTYPE_Q5_K: {
        // d, dmin, scales[12], (qh[32]), qs[128]: run j of 32 elements is a nibble of qs[(j / 2) * 32 ..], its
        // fifth bit is bit j of each qh byte.
        const bool five = type == ND_DTYPE_Q5_K;
        const std::byte* qs = p + (five ? 48 : 16);
        const __m256i qh = five ? load32(p + 16) : _mm256_setzero_si256();
        const __m256i fifth = _mm256_set1_epi8(0x10);
        for (int j = 0; j < 8; j += 2) {
            const __m256i q = load32(qs + j * 16);
            __m256i lo = _mm256_and_si256(q, low4_256);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4_256);
            if (five) {
                lo = _mm256_or_si256(lo, _mm256_maskz_mov_epi8(_mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(1 << j))), fifth));
                hi = _mm256_or_si256(hi, _mm256_maskz_mov_epi8(_mm256_test_epi8_mask(qh, _mm256_set1_epi8(static_cast<char>(2 << j))), fifth));
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
        // ql[128] qh[64] scales[16] d: element h*128 + q*32 + l has the low or high nibble (q < 2 or not) of
        // ql[h*64 + (q % 2)*32 + l] and bits 2q, 2q+1 of qh[h*32 + l].
        for (int h = 0; h < 2; ++h) {
            const __m256i qh = load32(p + 128 + h * 32);
            for (int q = 0; q < 4; ++q) {
                const __m256i ql = load32(p + h * 64 + (q % 2) * 32);
                const __m256i low = q < 2 ? _mm256_and_si256(ql, low4_256) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4_256);
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
        // Q2_K: scales[16] qs[64] d dmin. Q3_K: hmask[32] qs[64] scales[12] d. Element h*128 + j*32 + l has
        // bits 2j, 2j+1 of qs[h*32 + l]; Q3_K adds 4 when bit h*4 + j of hmask[l] is set.
        const bool three = type == ND_DTYPE_Q3_K;
        const std::byte* qs = p + (three ? 32 : 16);
        const __m256i hmask = three ? load32(p) : _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
            const __m256i q = load32(qs + h * 32);
            for (int j = 0; j < 4; ++j) {
                __m256i level = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), _mm256_set1_epi8(3));
                if (three) {
                    const __mmask32 high = _mm256_test_epi8_mask(hmask, _mm256_set1_epi8(static_cast<char>(1 << (h * 4 + j))));
                    level = _mm256_or_si256(level, _mm256_maskz_mov_epi8(high, _mm256_set1_epi8(4)));
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

// The permutations that transpose 16 rows x 8 dwords into 8 vectors of 16 dwords in three stages of
// two-source permutes (VPERMT2D). Before: vector i holds rows 2i and 2i+1 (8 dwords each). Stage s pairs the
// vectors that differ in bit s of their index and sends each element to the one whose bit s equals bit s of
// the element's column, so that after three stages vector c holds column c; within a vector, elements are
// kept sorted by (row, column), which in the end is by row. Computed at compile time from that rule.
struct TransposePlan {
    alignas(64) std::int32_t index[3][8][16]; // [stage][output vector][lane]: source lane, +16 for the pair's upper
};

constexpr TransposePlan make_transpose_plan() {
    TransposePlan plan{};
    int row[8][16] = {};
    int col[8][16] = {};
    for (int v = 0; v < 8; ++v) {
        for (int l = 0; l < 16; ++l) {
            row[v][l] = 2 * v + l / 8;
            col[v][l] = l % 8;
        }
    }
    for (int s = 0; s < 3; ++s) {
        int next_row[8][16] = {};
        int next_col[8][16] = {};
        for (int out = 0; out < 8; ++out) {
            const int lower = out & ~(1 << s);
            const int upper = out | (1 << s);
            const int want = (out >> s) & 1;
            int n = 0;
            int r[16] = {};
            int c[16] = {};
            int source[16] = {};
            for (int from = 0; from < 2; ++from) {
                const int v = from == 0 ? lower : upper;
                for (int l = 0; l < 16; ++l) {
                    if (((col[v][l] >> s) & 1) == want) {
                        r[n] = row[v][l];
                        c[n] = col[v][l];
                        source[n] = l + 16 * from;
                        ++n;
                    }
                }
            }
            for (int i = 1; i < 16; ++i) { // insertion sort by (row, column)
                for (int j = i; j > 0 && (r[j - 1] > r[j] || (r[j - 1] == r[j] && c[j - 1] > c[j])); --j) {
                    std::swap(r[j - 1], r[j]);
                    std::swap(c[j - 1], c[j]);
                    std::swap(source[j - 1], source[j]);
                }
            }
            for (int l = 0; l < 16; ++l) {
                plan.index[s][out][l] = source[l];
                next_row[out][l] = r[l];
                next_col[out][l] = c[l];
            }
        }
        for (int v = 0; v < 8; ++v) {
            for (int l = 0; l < 16; ++l) {
                row[v][l] = next_row[v][l];
                col[v][l] = next_col[v][l];
            }
        }
    }
    return plan;
}

constexpr TransposePlan kTranspose = make_transpose_plan();

// out + 128 * c (c = 0..7) receives {row 0 dword c, ..., row 15 dword c}; row r is at rows + r * row_stride.
void transpose_16x8(const std::uint8_t* rows, std::int64_t row_stride, std::uint8_t* out) {
    __m512i v[8];
    for (int i = 0; i < 8; ++i) {
        const __m256i even = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + (2 * i) * row_stride));
        const __m256i odd = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + (2 * i + 1) * row_stride));
        v[i] = _mm512_inserti64x4(_mm512_castsi256_si512(even), odd, 1);
    }
    for (int s = 0; s < 3; ++s) {
        __m512i next[8];
        for (int o = 0; o < 8; ++o) {
            const __m512i index = _mm512_load_si512(kTranspose.index[s][o]);
            next[o] = _mm512_permutex2var_epi32(v[o & ~(1 << s)], index, v[o | (1 << s)]);
        }
        for (int o = 0; o < 8; ++o) {
            v[o] = next[o];
        }
    }
    for (int c = 0; c < 8; ++c) {
        _mm512_storeu_si512(out + 128 * c, v[c]);
    }
}

} // namespace

void pack_panels_avx512(const std::byte* w, std::int64_t w_row_stride, nd_dtype type, std::int64_t n,
                 const LevelFormat& format, std::int64_t panel_begin, std::int64_t panel_end,
                 const PackedWeights& out) {
    if (format.offset != level_format(type).offset) { // not the natural offsets decode_levels produces
        pack_panels_generic(w, w_row_stride, type, n, format.offset, panel_begin, panel_end, out, half_to_float);
        return;
    }
    const std::int64_t elements = block_elements_of(type);
    const std::int64_t bytes = block_bytes_of(type);
    const std::int64_t groups_per_block = elements / format.group;
    alignas(64) std::uint8_t levels[kWidth][kSuper];
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
                std::uint8_t* dst = panel + (b * elements + c) * kWidth;
                transpose_16x8(&levels[0][c], kSuper, dst);
                transpose_16x8(&levels[16][c], kSuper, dst + 64);
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
