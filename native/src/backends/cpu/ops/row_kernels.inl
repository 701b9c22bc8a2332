// The row loops of row_kernels.hpp over one vector type of simd.hpp. Included by row_kernels.cpp,
// row_kernels_avx2.cpp and row_kernels_avx512.cpp inside namespace nd::backends::cpu::ops::detail after
// defining ND_ROW_VEC (the vector type) and ND_ROW_TABLE (the table to define).
//
// Every loop is a full-vector body and one partial-vector tail, so rows of any length (odd sizes included)
// read and write exactly their n elements.

namespace {

using Vec = ND_ROW_VEC;
constexpr std::int64_t L = Vec::kLanes;

template <typename Fn>
inline void map_unary(const float* x, float* out, std::int64_t n, Fn fn) {
    std::int64_t i = 0;
    for (; i + L <= n; i += L) {
        Vec::store(out + i, fn(Vec::load(x + i)));
    }
    if (i < n) {
        const int rest = static_cast<int>(n - i);
        Vec::store_partial(out + i, fn(Vec::load_partial(x + i, rest)), rest);
    }
}

template <typename Fn>
inline void map_binary(const float* a, bool a_scalar, const float* b, bool b_scalar, float* out, std::int64_t n,
                       Fn fn) {
    const Vec a1 = Vec::set1(*a);
    const Vec b1 = Vec::set1(*b);
    std::int64_t i = 0;
    for (; i + L <= n; i += L) {
        const Vec x = a_scalar ? a1 : Vec::load(a + i);
        const Vec y = b_scalar ? b1 : Vec::load(b + i);
        Vec::store(out + i, fn(x, y));
    }
    if (i < n) {
        const int rest = static_cast<int>(n - i);
        const Vec x = a_scalar ? a1 : Vec::load_partial(a + i, rest);
        const Vec y = b_scalar ? b1 : Vec::load_partial(b + i, rest);
        Vec::store_partial(out + i, fn(x, y), rest);
    }
}

void binary_row(BinaryOp op, const float* a, bool a_scalar, const float* b, bool b_scalar, float* out,
                std::int64_t n) {
    switch (op) {
    case BinaryOp::Add: map_binary(a, a_scalar, b, b_scalar, out, n, [](Vec x, Vec y) { return Vec::add(x, y); }); return;
    case BinaryOp::Sub: map_binary(a, a_scalar, b, b_scalar, out, n, [](Vec x, Vec y) { return Vec::sub(x, y); }); return;
    case BinaryOp::Mul: map_binary(a, a_scalar, b, b_scalar, out, n, [](Vec x, Vec y) { return Vec::mul(x, y); }); return;
    case BinaryOp::Div: map_binary(a, a_scalar, b, b_scalar, out, n, [](Vec x, Vec y) { return Vec::div(x, y); }); return;
    }
}

void scale_row(const float* x, float* out, std::int64_t n, float scale, float shift) {
    const Vec s = Vec::set1(scale);
    const Vec t = Vec::set1(shift);
    // Rounded twice, as PyTorch's x * s + b (two ops) is; a fused multiply-add would differ in the last bit.
    map_unary(x, out, n, [=](Vec v) { return Vec::mul_add_rounded(v, s, t); });
}

void clamp_row(const float* x, float* out, std::int64_t n, float lo, float hi) {
    const Vec l = Vec::set1(lo);
    const Vec h = Vec::set1(hi);
    map_unary(x, out, n, [=](Vec v) { return Vec::min(Vec::max(v, l), h); });
}

void activation_row(Activation kind, const float* x, float* out, std::int64_t n) {
    switch (kind) {
    case Activation::Silu: map_unary(x, out, n, [](Vec v) { return vmath::silu(v); }); return;
    case Activation::GeluErf: map_unary(x, out, n, [](Vec v) { return vmath::gelu_erf(v); }); return;
    case Activation::GeluTanh: map_unary(x, out, n, [](Vec v) { return vmath::gelu_tanh(v); }); return;
    case Activation::QuickGelu: map_unary(x, out, n, [](Vec v) { return vmath::quick_gelu(v); }); return;
    }
}

void geglu_row(const float* a, const float* g, float* out, std::int64_t n) {
    map_binary(a, false, g, false, out, n, [](Vec x, Vec y) { return Vec::mul(x, vmath::gelu_erf(y)); });
}

float sum_row(const float* x, std::int64_t n, float shift) {
    const Vec c = Vec::set1(shift);
    Vec s0 = Vec::zero(), s1 = Vec::zero(), s2 = Vec::zero(), s3 = Vec::zero();
    std::int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
        s0 = Vec::add(s0, Vec::sub(Vec::load(x + i), c));
        s1 = Vec::add(s1, Vec::sub(Vec::load(x + i + L), c));
        s2 = Vec::add(s2, Vec::sub(Vec::load(x + i + 2 * L), c));
        s3 = Vec::add(s3, Vec::sub(Vec::load(x + i + 3 * L), c));
    }
    for (; i + L <= n; i += L) {
        s0 = Vec::add(s0, Vec::sub(Vec::load(x + i), c));
    }
    float total = Vec::reduce_add(Vec::add(Vec::add(s0, s1), Vec::add(s2, s3)));
    for (; i < n; ++i) {
        total += x[i] - shift;
    }
    return total;
}

float sum_squared_deviation_row(const float* x, std::int64_t n, float mean) {
    const Vec m = Vec::set1(mean);
    Vec s0 = Vec::zero(), s1 = Vec::zero(), s2 = Vec::zero(), s3 = Vec::zero();
    std::int64_t i = 0;
    auto sq = [&](Vec v, Vec acc) {
        const Vec dv = Vec::sub(v, m);
        return Vec::fmadd(dv, dv, acc);
    };
    for (; i + 4 * L <= n; i += 4 * L) {
        s0 = sq(Vec::load(x + i), s0);
        s1 = sq(Vec::load(x + i + L), s1);
        s2 = sq(Vec::load(x + i + 2 * L), s2);
        s3 = sq(Vec::load(x + i + 3 * L), s3);
    }
    for (; i + L <= n; i += L) {
        s0 = sq(Vec::load(x + i), s0);
    }
    float total = Vec::reduce_add(Vec::add(Vec::add(s0, s1), Vec::add(s2, s3)));
    for (; i < n; ++i) {
        const float dv = x[i] - mean;
        total += dv * dv;
    }
    return total;
}

void affine_row(const float* x, float* out, std::int64_t n, float center, float scale, float shift, bool silu) {
    const Vec m = Vec::set1(center);
    const Vec s = Vec::set1(scale);
    const Vec t = Vec::set1(shift);
    if (silu) {
        map_unary(x, out, n, [=](Vec v) { return vmath::silu(Vec::fmadd(Vec::sub(v, m), s, t)); });
    } else {
        map_unary(x, out, n, [=](Vec v) { return Vec::fmadd(Vec::sub(v, m), s, t); });
    }
}

void normalize_row(const float* x, float* out, std::int64_t n, float mean, float inv_std, const float* gamma,
                   const float* beta) {
    const Vec m = Vec::set1(mean);
    const Vec r = Vec::set1(inv_std);
    std::int64_t i = 0;
    auto one = [&](Vec v, std::int64_t at, int count) {
        Vec y = Vec::mul(Vec::sub(v, m), r);
        if (gamma != nullptr) {
            y = Vec::mul(y, count == L ? Vec::load(gamma + at) : Vec::load_partial(gamma + at, count));
        }
        if (beta != nullptr) {
            y = Vec::add(y, count == L ? Vec::load(beta + at) : Vec::load_partial(beta + at, count));
        }
        return y;
    };
    for (; i + L <= n; i += L) {
        Vec::store(out + i, one(Vec::load(x + i), i, static_cast<int>(L)));
    }
    if (i < n) {
        const int rest = static_cast<int>(n - i);
        Vec::store_partial(out + i, one(Vec::load_partial(x + i, rest), i, rest), rest);
    }
}

void softmax_row(const float* x, float* out, std::int64_t n) {
    if (n <= 0) {
        return;
    }
    Vec mv = Vec::set1(-INFINITY);
    std::int64_t i = 0;
    for (; i + L <= n; i += L) {
        mv = Vec::max(mv, Vec::load(x + i));
    }
    float max = Vec::reduce_max(mv);
    for (; i < n; ++i) {
        max = x[i] > max ? x[i] : max;
    }
    const Vec shift = Vec::set1(max);
    Vec total = Vec::zero();
    float tail = 0.0f;
    i = 0;
    for (; i + L <= n; i += L) {
        const Vec e = vmath::exp(Vec::sub(Vec::load(x + i), shift));
        Vec::store(out + i, e);
        total = Vec::add(total, e);
    }
    if (i < n) {
        const int rest = static_cast<int>(n - i);
        Vec::store_partial(out + i, vmath::exp(Vec::sub(Vec::load_partial(x + i, rest), shift)), rest);
        for (std::int64_t j = i; j < n; ++j) {
            tail += out[j];
        }
    }
    const float inv = 1.0f / (Vec::reduce_add(total) + tail);
    const Vec f = Vec::set1(inv);
    map_unary(out, out, n, [=](Vec v) { return Vec::mul(v, f); });
}

void repeat2_row(const float* x, float* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) { // the vectoriser turns this into unpack/permute pairs
        out[2 * i] = x[i];
        out[2 * i + 1] = x[i];
    }
}

void transpose_rows(const float* src, std::int64_t src_stride, float* dst, std::int64_t dst_stride, std::int64_t rows,
                    std::int64_t cols) {
    std::int64_t i = 0;
    for (; i + L <= rows; i += L) {
        std::int64_t j = 0;
        for (; j + L <= cols; j += L) {
            Vec::transpose_block(src + i * src_stride + j, src_stride, dst + j * dst_stride + i, dst_stride);
        }
        for (; j < cols; ++j) {
            for (std::int64_t ii = i; ii < i + L; ++ii) {
                dst[j * dst_stride + ii] = src[ii * src_stride + j];
            }
        }
    }
    for (; i < rows; ++i) {
        for (std::int64_t j = 0; j < cols; ++j) {
            dst[j * dst_stride + i] = src[i * src_stride + j];
        }
    }
}

void im2col3_row(const float* src, float* dst, std::int64_t dst_stride, std::int64_t count, bool exact) {
    std::int64_t i = 0;
    if (!exact) {
        for (; i + L <= count; i += L) {
            Vec::spread3(src + i, dst + i * dst_stride, dst_stride);
        }
    }
    for (; i < count; ++i) {
        float* d = dst + i * dst_stride;
        d[0] = src[i];
        d[1] = src[i + 1];
        d[2] = src[i + 2];
    }
}

void f16_to_f32_row(const std::uint16_t* x, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
    }
#endif
    for (; i < n; ++i) {
        out[i] = core::f16_to_f32(x[i]);
    }
}

void bf16_to_f32_row(const std::uint16_t* x, float* out, std::int64_t n) {
    std::int64_t i = 0;
#if defined(__AVX2__)
    for (; i + 8 <= n; i += 8) {
        const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
        _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
    }
#endif
    for (; i < n; ++i) {
        out[i] = core::bf16_to_f32(x[i]);
    }
}

void f32_to_f16_row(const float* x, std::uint16_t* out, std::int64_t n) {
    std::int64_t i = 0;
#if defined(__F16C__)
    // The hardware conversion rounds to nearest even, keeps subnormals and quiets NaNs as core::f32_to_f16.
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
    for (; i < n; ++i) {
        out[i] = core::f32_to_f16(x[i]);
    }
}

void f32_to_bf16_row(const float* x, std::uint16_t* out, std::int64_t n) {
    std::int64_t i = 0;
#if defined(__AVX2__)
    // In integer arithmetic, as core::f32_to_bf16 does (VCVTNEPS2BF16 would flush subnormal inputs to zero).
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf = _mm256_set1_epi32(0x7f800000);
    for (; i + 8 <= n; i += 8) {
        const __m256i bits = _mm256_castps_si256(_mm256_loadu_ps(x + i));
        const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
        const __m256i rounded =
            _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
        const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
        const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), inf);
        const __m256i result = _mm256_blendv_epi8(rounded, quiet, is_nan);
        // 32-bit lanes hold 16-bit results: pack them (packus saturates, but every value fits in 16 bits).
        const __m256i packed = _mm256_packus_epi32(result, result);
        const __m256i ordered = _mm256_permute4x64_epi64(packed, 0x08);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_castsi256_si128(ordered));
    }
#endif
    for (; i < n; ++i) {
        out[i] = core::f32_to_bf16(x[i]);
    }
}

} // namespace

const RowKernels ND_ROW_TABLE = {
    .binary = binary_row,
    .scale = scale_row,
    .clamp = clamp_row,
    .activation = activation_row,
    .geglu = geglu_row,
    .sum = sum_row,
    .sum_squared_deviation = sum_squared_deviation_row,
    .affine = affine_row,
    .normalize = normalize_row,
    .softmax = softmax_row,
    .repeat2 = repeat2_row,
    .transpose = transpose_rows,
    .im2col3 = im2col3_row,
    .f16_to_f32 = f16_to_f32_row,
    .bf16_to_f32 = bf16_to_f32_row,
    .f32_to_f16 = f32_to_f16_row,
    .f32_to_bf16 = f32_to_bf16_row,
};
