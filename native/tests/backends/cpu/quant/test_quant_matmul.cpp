#include "backends/cpu/quant/quant_matmul.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cpu/quant/quant_matmul_kernels.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu::quant {
namespace {

constexpr nd_dtype kTypes[] = {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0,
                               ND_DTYPE_Q5_1, ND_DTYPE_Q2_K, ND_DTYPE_Q3_K, ND_DTYPE_Q4_K,
                               ND_DTYPE_Q5_K, ND_DTYPE_Q6_K, ND_DTYPE_Q8_K};

std::vector<Isa> supported_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isa_supported(isa, cpu_features())) {
            isas.push_back(isa);
        }
    }
    return isas;
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float sigma = 1.0f) {
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) {
        x = normal(rng);
    }
    return v;
}

// N weight rows of K, quantized, `pad` spare bytes after each row (so rows are also misaligned).
struct Weights {
    std::vector<std::byte> bytes;
    std::int64_t stride = 0;
    std::vector<float> dequantized; // N x K, exactly as dequantize_row reads the bytes
};

Weights make_weights(nd_dtype type, std::int64_t n, std::int64_t k, std::mt19937& rng, std::int64_t pad = 3) {
    Weights w;
    const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(k)));
    w.stride = row + pad;
    w.bytes.assign(static_cast<std::size_t>(w.stride * n), std::byte{0x5A});
    w.dequantized.resize(static_cast<std::size_t>(n * k));
    const auto values = random_floats(static_cast<std::size_t>(n * k), rng, 0.05f);
    for (std::int64_t j = 0; j < n; ++j) {
        const auto src = std::span(values.data() + j * k, static_cast<std::size_t>(k));
        const auto dst = std::span(w.bytes.data() + j * w.stride, static_cast<std::size_t>(row));
        quantize_row(type, src, dst);
        dequantize_row(type, dst, std::span(w.dequantized.data() + j * k, static_cast<std::size_t>(k)));
    }
    return w;
}

struct Case {
    std::int64_t m, n, k;
    std::int64_t lda_pad = 0;
    std::int64_t ldc_pad = 0;
    bool bias = false;
    bool accumulate = false;
};

std::string describe(const Case& c) {
    return std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n) +
           (c.lda_pad != 0 ? " lda+" + std::to_string(c.lda_pad) : "") +
           (c.ldc_pad != 0 ? " ldc+" + std::to_string(c.ldc_pad) : "") + (c.bias ? " bias" : "") +
           (c.accumulate ? " accumulate" : "");
}

// One problem with its inputs and, per C element, the exact (double) answer and the error it may have.
struct Problem {
    Case shape;
    nd_dtype type;
    std::vector<float> a;
    Weights w;
    std::vector<float> bias;
    std::vector<float> c_initial;
    std::vector<double> expected;  // m x n
    std::vector<double> tolerance; // m x n
    std::vector<double> magnitude; // m x n: sum |a||w| + |bias| + |c|, the scale of float rounding

    MatmulArgs args(std::vector<float>& c) const {
        MatmulArgs x;
        x.m = shape.m;
        x.n = shape.n;
        x.k = shape.k;
        x.a = a.data();
        x.lda = shape.k + shape.lda_pad;
        x.w = w.bytes.data();
        x.w_type = type;
        x.w_row_stride = w.stride;
        x.bias = shape.bias ? bias.data() : nullptr;
        x.c = c.data();
        x.ldc = shape.n + shape.ldc_pad;
        x.accumulate = shape.accumulate;
        return x;
    }
};

// The activations are quantized per group (16 or 32 k, the weight format's) to q * d with d = max|a| / 127,
// so each a[i, k] moves by at most d / 2 and C[i, j] by at most sum_k |W[j, k]| * d(i, group of k) / 2: that
// is the bound tested (it is the worst case, all errors adding up; typical errors are ~sqrt(group) times
// smaller). Float rounding adds ~1e-7 per operation of |terms|, allowed as 1e-5 of the magnitude.
Problem make_problem(nd_dtype type, const Case& shape, std::mt19937& rng) {
    Problem p;
    p.shape = shape;
    p.type = type;
    const std::int64_t lda = shape.k + shape.lda_pad;
    const std::int64_t ldc = shape.n + shape.ldc_pad;
    p.a = random_floats(static_cast<std::size_t>(shape.m * lda), rng);
    // Make some rows' groups very uneven, as real activations are (an outlier channel dominates its group).
    for (std::int64_t i = 0; i < shape.m; i += 3) {
        p.a[static_cast<std::size_t>(i * lda + (i * 7) % shape.k)] *= 20.0f;
    }
    p.w = make_weights(type, shape.n, shape.k, rng);
    p.bias = random_floats(static_cast<std::size_t>(shape.n), rng);
    p.c_initial = random_floats(static_cast<std::size_t>(shape.m * ldc), rng);
    const int group = kernels::level_format(type).group;
    p.expected.resize(static_cast<std::size_t>(shape.m * shape.n));
    p.tolerance.resize(p.expected.size());
    p.magnitude.resize(p.expected.size());
    for (std::int64_t i = 0; i < shape.m; ++i) {
        const float* a = p.a.data() + i * lda;
        for (std::int64_t j = 0; j < shape.n; ++j) {
            const float* w = p.w.dequantized.data() + j * shape.k;
            double sum = 0;
            double bound = 0;
            double magnitude = 0;
            for (std::int64_t g = 0; g < shape.k; g += group) {
                double amax = 0;
                double wsum = 0;
                for (std::int64_t kk = g; kk < g + group; ++kk) {
                    sum += static_cast<double>(a[kk]) * w[kk];
                    magnitude += std::fabs(static_cast<double>(a[kk]) * w[kk]);
                    amax = std::max(amax, std::fabs(static_cast<double>(a[kk])));
                    wsum += std::fabs(static_cast<double>(w[kk]));
                }
                bound += amax / 127.0 / 2.0 * wsum;
            }
            if (shape.bias) {
                sum += p.bias[static_cast<std::size_t>(j)];
                magnitude += std::fabs(p.bias[static_cast<std::size_t>(j)]);
            }
            if (shape.accumulate) {
                const float c0 = p.c_initial[static_cast<std::size_t>(i * ldc + j)];
                sum += c0;
                magnitude += std::fabs(c0);
            }
            const auto at = static_cast<std::size_t>(i * shape.n + j);
            p.expected[at] = sum;
            p.magnitude[at] = magnitude;
            p.tolerance[at] = bound * 1.001 + 1e-5 * magnitude + 1e-6;
        }
    }
    return p;
}

std::vector<float> run(const Problem& p, Isa isa, core::ThreadPool& pool) {
    std::vector<float> c = p.c_initial;
    matmul_quantized(p.args(c), pool, isa);
    return c;
}

const Case kCases[] = {
    {1, 1, 1},
    {3, 17, 1, 0, 0, true, false},
    {17, 3, 2, 5, 0, false, true},
    {77, 77, 1, 0, 3, true, true},
    {1, 40, 3, 7, 0, true, false},
    {13, 33, 2, 0, 1, false, false},
};

TEST(QuantMatmul, Every_type_on_every_isa_matches_the_double_reference_within_the_activation_rounding) {
    std::mt19937 rng(2024);
    core::ThreadPool pool(3);
    for (nd_dtype type : kTypes) {
        const std::int64_t block = static_cast<std::int64_t>(core::dtype_block_elements(type));
        for (Case shape : kCases) {
            shape.k *= block; // the cases give K in blocks
            const Problem p = make_problem(type, shape, rng);
            for (Isa isa : supported_isas()) {
                SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)) + " " +
                             describe(shape));
                const auto c = run(p, isa, pool);
                const std::int64_t ldc = shape.n + shape.ldc_pad;
                for (std::int64_t i = 0; i < shape.m; ++i) {
                    for (std::int64_t j = 0; j < shape.n; ++j) {
                        const auto at = static_cast<std::size_t>(i * shape.n + j);
                        ASSERT_NEAR(c[static_cast<std::size_t>(i * ldc + j)], p.expected[at], p.tolerance[at])
                            << "C[" << i << ", " << j << "]";
                    }
                    for (std::int64_t j = shape.n; j < ldc; ++j) { // the padding of C is not written
                        ASSERT_EQ(c[static_cast<std::size_t>(i * ldc + j)], p.c_initial[static_cast<std::size_t>(i * ldc + j)]);
                    }
                }
            }
        }
    }
}

TEST(QuantMatmul, Vector_variants_agree_with_the_scalar_variant_to_float_rounding) {
    // Same activation quantization, same integer dot products: only the float accumulation (FMA or not)
    // differs, ~1e-7 of the magnitude per group.
    std::mt19937 rng(77);
    core::ThreadPool pool(2);
    for (nd_dtype type : kTypes) {
        const std::int64_t block = static_cast<std::int64_t>(core::dtype_block_elements(type));
        const Case shape{37, 70, 3 * block, 2, 2, true, true};
        const Problem p = make_problem(type, shape, rng);
        const auto reference = run(p, Isa::Scalar, pool);
        for (Isa isa : supported_isas()) {
            SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)));
            const auto c = run(p, isa, pool);
            const std::int64_t ldc = shape.n + shape.ldc_pad;
            double worst = 0;
            for (std::int64_t i = 0; i < shape.m; ++i) {
                for (std::int64_t j = 0; j < shape.n; ++j) {
                    const auto at = static_cast<std::size_t>(i * ldc + j);
                    const double magnitude = p.magnitude[static_cast<std::size_t>(i * shape.n + j)];
                    worst = std::max(worst, std::fabs(c[at] - reference[at]) / magnitude);
                }
            }
            EXPECT_LT(worst, 1e-5);
        }
    }
}

TEST(QuantMatmul, Fused_and_split_schedules_give_identical_results_for_every_type) {
    // The fused schedule quantizes each chunk of rows in the task that multiplies it; the split one quantizes
    // all rows first and splits columns too. Every C element is still computed by one register tile in one
    // order, so the results must be bit-identical (and right), whatever the thread count.
    std::mt19937 rng(5);
    core::ThreadPool one(1);
    core::ThreadPool three(3);
    for (nd_dtype type : kTypes) {
        const std::int64_t block = static_cast<std::int64_t>(core::dtype_block_elements(type));
        const Problem p = make_problem(type, Case{400, 40, 2 * block, 3, 1, true, true}, rng);
        for (Isa isa : supported_isas()) {
            SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)));
            auto run_with = [&](kernels::Schedule schedule, core::ThreadPool& pool) {
                std::vector<float> c = p.c_initial;
                kernels::matmul_quantized_scheduled(p.args(c), pool, isa, schedule);
                return c;
            };
            const auto fused = run_with(kernels::Schedule::Fused, three);
            ASSERT_EQ(fused, run_with(kernels::Schedule::Split, three));
            ASSERT_EQ(fused, run_with(kernels::Schedule::Fused, one));
            ASSERT_EQ(fused, run_with(kernels::Schedule::Split, one));
            ASSERT_EQ(fused, run(p, isa, three));
            const std::int64_t ldc = p.shape.n + p.shape.ldc_pad;
            for (std::int64_t i = 0; i < p.shape.m; ++i) {
                for (std::int64_t j = 0; j < p.shape.n; ++j) {
                    const auto at = static_cast<std::size_t>(i * p.shape.n + j);
                    ASSERT_NEAR(fused[static_cast<std::size_t>(i * ldc + j)], p.expected[at], p.tolerance[at]) << i << ", " << j;
                }
            }
        }
    }
}

// Every variant's packed panels, read back as scale * (byte - offset) + min, give exactly dequantize_row's
// values: the decoding of every format inside the matmul is the layout of the file, bit for bit.
TEST(QuantMatmul, Packed_weights_of_every_variant_decode_exactly_like_dequantize_row) {
    std::mt19937 rng(11);
    struct Variant {
        Isa isa;
        const kernels::Kernels* kernels;
        kernels::LevelFormat (*format)(nd_dtype);
    };
    std::vector<Variant> variants = {{Isa::Scalar, &kernels::scalar_kernels(), kernels::scalar_format}};
    if (isa_supported(Isa::Avx2, cpu_features())) {
        variants.push_back({Isa::Avx2, &kernels::avx2_kernels(), kernels::avx2_format});
    }
    if (isa_supported(Isa::Avx512, cpu_features()) && avx512_vnni()) {
        variants.push_back({Isa::Avx512, &kernels::avx512_kernels(), kernels::avx512_format});
    }
    for (nd_dtype type : kTypes) {
        const std::int64_t k = 2 * static_cast<std::int64_t>(core::dtype_block_elements(type));
        const std::int64_t n = 45;
        const Weights w = make_weights(type, n, k, rng, 5);
        for (const Variant& v : variants) {
            SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(v.isa)));
            const kernels::LevelFormat format = v.format(type);
            const std::int64_t width = v.kernels->width;
            const std::int64_t panels = (n + width - 1) / width;
            const std::int64_t groups = k / format.group;
            std::vector<std::uint8_t> levels(static_cast<std::size_t>(panels * width * k), 0xEE);
            std::vector<float> scale(static_cast<std::size_t>(panels * width * groups), -1.0f);
            std::vector<float> min(scale.size(), -1.0f);
            kernels::PackedWeights out;
            out.levels = levels.data();
            out.scale = scale.data();
            out.min = format.has_min ? min.data() : nullptr;
            out.width = static_cast<int>(width);
            out.k = k;
            out.groups = groups;
            v.kernels->pack_panels(w.bytes.data(), w.stride, type, n, format, 0, panels, out);
            for (std::int64_t row = 0; row < panels * width; ++row) {
                const std::int64_t p = row / width;
                const std::int64_t lane = row % width;
                for (std::int64_t kk = 0; kk < k; ++kk) {
                    const std::uint8_t byte = levels[static_cast<std::size_t>(p * k * width + (kk / 4) * width * 4 + lane * 4 + kk % 4)];
                    const auto g = static_cast<std::size_t>(p * groups * width + (kk / format.group) * width + lane);
                    const int level = format.offset != 0 ? byte - format.offset : static_cast<std::int8_t>(byte);
                    const float value = scale[g] * static_cast<float>(level) + (format.has_min ? min[g] : 0.0f);
                    if (row < n) {
                        ASSERT_EQ(value, w.dequantized[static_cast<std::size_t>(row * k + kk)]) << row << ", " << kk;
                    } else {
                        ASSERT_EQ(value, 0.0f) << "padding row " << row; // a zero column: contributes nothing
                    }
                }
            }
        }
    }
}

TEST(QuantMatmul, Activation_quantization_is_identical_in_every_variant) {
    // K = 320 and 800 give row lengths that are not a whole number of the vector code's batches of 16 groups.
    std::mt19937 rng(3);
    const std::int64_t m = 9;
    for (std::int64_t k : {256, 320, 800}) {
        auto a = random_floats(static_cast<std::size_t>(m * k), rng);
        a[5] = 0.0f;
        std::fill(a.begin() + 64, a.begin() + 96, 0.0f); // an all-zero group: scale 0, quants 0
        a[static_cast<std::size_t>(k + 7)] = 1e4f;        // an outlier
        for (int group : {16, 32}) {
            for (bool has_min : {false, true}) {
                SCOPED_TRACE("k " + std::to_string(k) + ", groups of " + std::to_string(group) +
                             (has_min ? ", sums" : ", corrections"));
                const kernels::LevelFormat format{group, has_min ? 0 : 8, has_min};
                auto quantize = [&](const kernels::Kernels& kern) {
                    const std::size_t groups = static_cast<std::size_t>(m * k / group);
                    std::vector<std::int8_t> q(static_cast<std::size_t>(m * k));
                    std::vector<float> scale(groups);
                    std::vector<std::int32_t> correction(groups);
                    std::vector<float> sum(groups);
                    kernels::QuantizedRows out;
                    out.q = q.data();
                    out.stride = k;
                    out.scale = scale.data();
                    out.correction = has_min ? nullptr : correction.data();
                    out.sum = has_min ? sum.data() : nullptr;
                    out.groups = k / group;
                    kern.quantize_rows(a.data(), k, k, format, 0, m, out);
                    return std::make_tuple(q, scale, correction, sum);
                };
                const auto reference = quantize(kernels::scalar_kernels());
                const auto& q = std::get<0>(reference);
                const auto& scale = std::get<1>(reference);
                for (std::int64_t i = 0; i < m * k; ++i) { // the reference itself: within half a step
                    const float d = scale[static_cast<std::size_t>(i / group)];
                    ASSERT_LE(std::fabs(q[static_cast<std::size_t>(i)] * d - a[static_cast<std::size_t>(i)]),
                              d * 0.5f * 1.0001f + 1e-6f);
                }
                for (std::size_t g = 0; g < scale.size(); ++g) { // and its per-group numbers
                    int sum = 0;
                    for (int j = 0; j < group; ++j) {
                        sum += q[g * static_cast<std::size_t>(group) + static_cast<std::size_t>(j)];
                    }
                    if (has_min) {
                        ASSERT_EQ(std::get<3>(reference)[g], scale[g] * static_cast<float>(sum));
                    } else {
                        ASSERT_EQ(std::get<2>(reference)[g], -8 * sum);
                    }
                }
                EXPECT_EQ(scale[static_cast<std::size_t>(64 / group)], 0.0f);
                if (isa_supported(Isa::Avx2, cpu_features())) {
                    EXPECT_EQ(quantize(kernels::avx2_kernels()), reference) << "avx2";
                }
                if (isa_supported(Isa::Avx512, cpu_features()) && avx512_vnni()) {
                    EXPECT_EQ(quantize(kernels::avx512_kernels()), reference) << "avx512";
                }
            }
        }
    }
}

TEST(QuantMatmul, Extreme_levels_against_extreme_activations_do_not_saturate_the_integer_sums) {
    // The largest products each instruction sequence meets: Q8_0 levels of -128 and 127 (AVX2's sign trick:
    // 2 * 128 * 127 per pair) and Q6_K levels of 63 (AVX2 adds two maddubs results in int16: 4 * 63 * 127),
    // against activations that all quantize to +-127, signed so that row 0 adds every product up.
    const std::int64_t m = 5;
    const std::int64_t n = 19;
    const std::int64_t k = 512;
    core::ThreadPool pool(2);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q6_K}) {
        const auto block_bytes = static_cast<std::int64_t>(core::dtype_block_bytes(type));
        const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, k));
        std::vector<std::byte> w(static_cast<std::size_t>(row * n));
        for (std::int64_t j = 0; j < n; ++j) {
            for (std::int64_t b = 0; b < row / block_bytes; ++b) {
                std::byte* p = w.data() + j * row + b * block_bytes;
                if (type == ND_DTYPE_Q8_0) {
                    const std::uint16_t d = core::f32_to_f16(1.0f / 64.0f);
                    std::memcpy(p, &d, 2);
                    for (int e = 0; e < 32; ++e) {
                        p[2 + e] = static_cast<std::byte>((j + e) % 2 != 0 ? 127 : -128);
                    }
                } else { // ql, qh all ones: every level 63 - 32 = 31; scales alternate +-127
                    std::memset(p, 0xFF, 192);
                    for (int g = 0; g < 16; ++g) {
                        p[192 + g] = static_cast<std::byte>((g + j) % 2 != 0 ? 127 : -127);
                    }
                    const std::uint16_t d = core::f32_to_f16(1.0f / 1024.0f);
                    std::memcpy(p + 208, &d, 2);
                }
            }
        }
        std::vector<float> wf(static_cast<std::size_t>(n * k));
        for (std::int64_t j = 0; j < n; ++j) {
            dequantize_row(type, std::span(w.data() + j * row, static_cast<std::size_t>(row)),
                           std::span(wf.data() + j * k, static_cast<std::size_t>(k)));
        }
        std::vector<float> a(static_cast<std::size_t>(m * k));
        for (std::int64_t i = 0; i < m; ++i) {
            for (std::int64_t kk = 0; kk < k; ++kk) {
                const bool positive = (wf[static_cast<std::size_t>(kk)] >= 0) == (i % 2 == 0);
                a[static_cast<std::size_t>(i * k + kk)] = positive ? 1.0f : -1.0f;
            }
        }
        for (Isa isa : supported_isas()) {
            SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)));
            std::vector<float> c(static_cast<std::size_t>(m * n));
            MatmulArgs args;
            args.m = m;
            args.n = n;
            args.k = k;
            args.a = a.data();
            args.lda = k;
            args.w = w.data();
            args.w_type = type;
            args.w_row_stride = row;
            args.c = c.data();
            args.ldc = n;
            matmul_quantized(args, pool, isa);
            for (std::int64_t i = 0; i < m; ++i) {
                for (std::int64_t j = 0; j < n; ++j) {
                    double expected = 0;
                    double magnitude = 0;
                    for (std::int64_t kk = 0; kk < k; ++kk) {
                        const double product = static_cast<double>(a[static_cast<std::size_t>(i * k + kk)]) *
                                               wf[static_cast<std::size_t>(j * k + kk)];
                        expected += product;
                        magnitude += std::fabs(product);
                    }
                    // +-1 quantizes to +-127 * (1 / 127): only float rounding remains.
                    ASSERT_NEAR(c[static_cast<std::size_t>(i * n + j)], expected, 1e-5 * magnitude) << i << ", " << j;
                }
            }
        }
    }
}

TEST(QuantMatmul, Bad_arguments_are_rejected_with_the_argument_named) {
    std::mt19937 rng(1);
    const Problem p = make_problem(ND_DTYPE_Q4_0, Case{2, 3, 64}, rng);
    std::vector<float> c(6);
    core::ThreadPool pool(1);
    auto expect_error = [&](MatmulArgs args, const char* text) {
        try {
            matmul_quantized(args, pool, Isa::Scalar);
            ADD_FAILURE() << "accepted: " << text;
        } catch (const core::Error& e) {
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        }
    };
    MatmulArgs args = p.args(c);
    args.k = 48;
    args.lda = 64;
    expect_error(args, "k=48 is not a multiple");
    args = p.args(c);
    args.w_row_stride = 10;
    expect_error(args, "w_row_stride=10");
    args = p.args(c);
    args.lda = 32;
    expect_error(args, "lda=32");
    args = p.args(c);
    args.ldc = 2;
    expect_error(args, "ldc=2");
    args = p.args(c);
    args.w_type = ND_DTYPE_F16;
    expect_error(args, "F16");
    args = p.args(c);
    args.a = nullptr;
    expect_error(args, "a is NULL");
    args = p.args(c);
    args.m = 0;
    expect_error(args, "m=0");
    if (!isa_supported(Isa::Neon, cpu_features())) {
        try {
            matmul_quantized(p.args(c), pool, Isa::Neon);
            ADD_FAILURE() << "ran the neon variant on a CPU without it";
        } catch (const core::Error& e) {
            EXPECT_EQ(e.status(), ND_STATUS_UNSUPPORTED);
        }
    }
}

} // namespace
} // namespace nd::backends::cpu::quant
