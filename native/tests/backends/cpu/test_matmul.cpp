#include "backends/cpu/matmul.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends::cpu {
namespace {

std::vector<Isa> supported_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isa_supported(isa, cpu_features())) {
            isas.push_back(isa);
        }
    }
    return isas;
}

// A weight matrix of n rows of k elements in `type`, rows `stride` bytes apart, and the F32 values it holds.
struct Weights {
    std::vector<std::byte> bytes;
    std::int64_t stride = 0;
    std::vector<float> values; // dequantized, n x k
};

Weights make_weights(nd_dtype type, std::int64_t n, std::int64_t k, std::int64_t padding, std::mt19937& rng) {
    Weights w;
    const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(k)));
    w.stride = row + padding;
    w.bytes.assign(static_cast<std::size_t>(w.stride * n), std::byte{0x7f}); // padding is garbage on purpose
    w.values.resize(static_cast<std::size_t>(n * k));
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<float> source(static_cast<std::size_t>(k));
    for (std::int64_t j = 0; j < n; ++j) {
        for (float& v : source) {
            v = normal(rng);
        }
        std::span<std::byte> dst(w.bytes.data() + j * w.stride, static_cast<std::size_t>(row));
        quant::quantize_row(type, source, dst);
        quant::dequantize_row(type, dst, std::span(w.values.data() + j * k, static_cast<std::size_t>(k)));
    }
    return w;
}

struct Case {
    std::int64_t m, n, k;
    bool bias;
    bool accumulate;
};

void expect_matches_reference(nd_dtype type, const Case& c, Isa isa, core::ThreadPool& pool, std::mt19937& rng) {
    SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)) + " m=" +
                 std::to_string(c.m) + " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k));
    const std::int64_t lda = c.k + 3; // non-contiguous rows: A and C are views into wider matrices
    const std::int64_t ldc = c.n + 5;
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> a(static_cast<std::size_t>(c.m * lda));
    for (float& v : a) {
        v = uniform(rng);
    }
    const Weights w = make_weights(type, c.n, c.k, 16, rng);
    std::vector<float> bias(static_cast<std::size_t>(c.n));
    for (float& v : bias) {
        v = uniform(rng);
    }
    std::vector<float> initial(static_cast<std::size_t>(c.m * ldc));
    for (float& v : initial) {
        v = uniform(rng);
    }

    MatmulArgs args;
    args.m = c.m;
    args.n = c.n;
    args.k = c.k;
    args.a = a.data();
    args.lda = lda;
    args.w = w.bytes.data();
    args.w_type = type;
    args.w_row_stride = w.stride;
    args.bias = c.bias ? bias.data() : nullptr;
    args.accumulate = c.accumulate;
    args.ldc = ldc;

    std::vector<float> expected = initial;
    args.c = expected.data();
    matmul_reference(args);
    std::vector<float> actual = initial;
    args.c = actual.data();
    matmul(args, pool, isa);

    for (std::int64_t i = 0; i < c.m; ++i) {
        for (std::int64_t j = 0; j < ldc; ++j) {
            const auto at = static_cast<std::size_t>(i * ldc + j);
            if (j >= c.n) {
                ASSERT_EQ(actual[at], initial[at]) << "wrote past column n at row " << i << " col " << j;
                continue;
            }
            // Float accumulation of k products of size <= |a||w| rounds by at most ~k * 2^-24 of their sum of
            // magnitudes; the bound uses that sum, computed exactly.
            double magnitude = std::fabs(c.bias ? bias[static_cast<std::size_t>(j)] : 0.0f) +
                               (c.accumulate ? std::fabs(initial[at]) : 0.0);
            for (std::int64_t k = 0; k < c.k; ++k) {
                magnitude += std::fabs(a[static_cast<std::size_t>(i * lda + k)] *
                                       static_cast<double>(w.values[static_cast<std::size_t>(j * c.k + k)]));
            }
            const double bound = 1e-6 * magnitude * (1.0 + std::sqrt(static_cast<double>(c.k)));
            ASSERT_NEAR(actual[at], expected[at], bound) << "row " << i << " col " << j;
        }
    }
}

TEST(Matmul, Float_weights_match_the_reference_on_every_isa_with_odd_sizes) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    const Case cases[] = {
        {1, 1, 1, false, false},   {3, 7, 5, true, false},     {17, 33, 77, true, true},
        {9, 32, 40, false, true},  {130, 65, 129, true, false}, {77, 320, 64, true, false},
        {8, 17, 1100, false, false}, // more than one K chunk
    };
    for (nd_dtype type : {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_BF16}) {
        for (Isa isa : supported_isas()) {
            for (const Case& c : cases) {
                expect_matches_reference(type, c, isa, pool, rng);
            }
        }
    }
}

TEST(Matmul, Block_quantized_weights_match_the_reference_over_their_dequantized_values) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1,
                          ND_DTYPE_Q2_K, ND_DTYPE_Q3_K, ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K}) {
        const std::int64_t k = core::dtype_block_elements(type) == 32 ? 96 : 768; // 768 spans two K chunks
        for (Isa isa : supported_isas()) {
            expect_matches_reference(type, {19, 37, k, true, false}, isa, pool, rng);
        }
    }
}

TEST(Matmul, Thread_count_does_not_change_the_result) {
    std::mt19937 rng(3);
    const Weights w = make_weights(ND_DTYPE_F16, 300, 320, 0, rng);
    std::vector<float> a(600 * 320);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : a) {
        v = uniform(rng);
    }
    MatmulArgs args;
    args.m = 600;
    args.n = 300;
    args.k = 320;
    args.a = a.data();
    args.lda = 320;
    args.w = w.bytes.data();
    args.w_type = ND_DTYPE_F16;
    args.w_row_stride = w.stride;
    args.ldc = 300;
    std::vector<float> one(600 * 300);
    std::vector<float> three(600 * 300);
    core::ThreadPool single(1);
    core::ThreadPool several(3);
    args.c = one.data();
    matmul(args, single);
    args.c = three.data();
    matmul(args, several);
    EXPECT_EQ(one, three); // each element is computed by one thread in the same order: bitwise equal
}

TEST(Matmul, Bad_arguments_are_rejected_naming_them) {
    std::vector<float> a(64, 1.0f);
    std::vector<float> c(64);
    std::vector<std::byte> w(4096);
    core::ThreadPool pool(1);
    auto base = [&] {
        MatmulArgs args;
        args.m = 2;
        args.n = 2;
        args.k = 32;
        args.a = a.data();
        args.lda = 32;
        args.w = w.data();
        args.w_type = ND_DTYPE_F32;
        args.w_row_stride = 128;
        args.c = c.data();
        args.ldc = 2;
        return args;
    };
    auto expect_error = [&](MatmulArgs args, const std::string& needle) {
        try {
            matmul(args, pool);
            ADD_FAILURE() << "no error for " << needle;
        } catch (const core::Error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    MatmulArgs args = base();
    args.lda = 31;
    expect_error(args, "lda=31 is smaller than k=32");
    args = base();
    args.ldc = 1;
    expect_error(args, "ldc=1 is smaller than n=2");
    args = base();
    args.w_row_stride = 100;
    expect_error(args, "w_row_stride=100");
    args = base();
    args.m = 0;
    expect_error(args, "sizes must be positive");
    args = base();
    args.w_type = ND_DTYPE_Q4_K;
    expect_error(args, "not a multiple of the Q4_K block of 256");
    args = base();
    args.w_type = ND_DTYPE_I32;
    expect_error(args, "I32 are not supported");
    args = base();
    args.c = nullptr;
    expect_error(args, "c is NULL");
}

} // namespace
} // namespace nd::backends::cpu
