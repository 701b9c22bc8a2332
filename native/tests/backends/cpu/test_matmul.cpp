#include "backends/cpu/matmul.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/gemm/packed_weights.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends::cpu {
namespace {

constexpr nd_dtype kFloatTypes[] = {ND_DTYPE_F32, ND_DTYPE_F16, ND_DTYPE_BF16};

std::vector<Isa> supported_isas() {
    std::vector<Isa> isas;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isa_supported(isa, cpu_features())) {
            isas.push_back(isa);
        }
    }
    return isas;
}

std::vector<float> uniform_floats(std::size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) {
        x = uniform(rng);
    }
    return v;
}

// n weight rows of k elements in `type`, rows `stride` bytes apart, and the F32 values they hold.
struct Weights {
    std::vector<std::byte> bytes;
    std::int64_t stride = 0;
    std::vector<float> values; // n x k, as the reference reads them
};

Weights make_weights(nd_dtype type, std::int64_t n, std::int64_t k, std::int64_t padding, std::mt19937& rng) {
    Weights w;
    const auto row = static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(k)));
    w.stride = row + padding;
    w.bytes.assign(static_cast<std::size_t>(w.stride * n), std::byte{0x7f}); // padding is NaN-ish garbage on purpose
    w.values.resize(static_cast<std::size_t>(n * k));
    std::normal_distribution<float> normal(0.0f, 0.5f);
    std::vector<float> source(static_cast<std::size_t>(k));
    for (std::int64_t j = 0; j < n; ++j) {
        for (float& v : source) {
            v = normal(rng);
        }
        std::span<std::byte> dst(w.bytes.data() + j * w.stride, static_cast<std::size_t>(row));
        quant::quantize_row(type, source, dst); // F32/F16/BF16 too: a rounding conversion
        quant::dequantize_row(type, dst, std::span(w.values.data() + j * k, static_cast<std::size_t>(k)));
    }
    return w;
}

struct Case {
    std::int64_t m, n, k;
    bool bias = false;
    bool accumulate = false;
    std::int64_t lda_pad = 0; // lda = k + lda_pad: A a view into a wider matrix
    std::int64_t ldc_pad = 0;
};

std::string describe(nd_dtype type, Isa isa, const Case& c, int threads) {
    return std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)) + " m=" + std::to_string(c.m) +
           " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) + " lda+" + std::to_string(c.lda_pad) +
           " ldc+" + std::to_string(c.ldc_pad) + (c.bias ? " bias" : "") + (c.accumulate ? " accumulate" : "") +
           " threads=" + std::to_string(threads);
}

// Everything one comparison needs: operands, the initial C and the arguments pointing at them.
struct Problem {
    Case shape;
    Weights w;
    std::vector<float> a;
    std::vector<float> bias;
    std::vector<float> initial; // C before the call (garbage in the ldc padding, the sum base when accumulating)
    MatmulArgs args;

    Problem(nd_dtype type, const Case& c, std::mt19937& rng) : shape(c) {
        const std::int64_t lda = c.k + c.lda_pad;
        const std::int64_t ldc = c.n + c.ldc_pad;
        a = uniform_floats(static_cast<std::size_t>(c.m * lda), rng);
        w = make_weights(type, c.n, c.k, 16, rng);
        bias = uniform_floats(static_cast<std::size_t>(c.n), rng);
        initial = uniform_floats(static_cast<std::size_t>(c.m * ldc), rng);
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
    }

    // Sum of the magnitudes of everything added into C[i, j]: the scale of its rounding error.
    [[nodiscard]] double magnitude(std::int64_t i, std::int64_t j) const {
        const auto at = static_cast<std::size_t>(i * args.ldc + j);
        double sum = (shape.bias ? std::fabs(bias[static_cast<std::size_t>(j)]) : 0.0) +
                     (shape.accumulate ? std::fabs(initial[at]) : 0.0);
        for (std::int64_t k = 0; k < shape.k; ++k) {
            sum += std::fabs(static_cast<double>(a[static_cast<std::size_t>(i * args.lda + k)]) *
                             w.values[static_cast<std::size_t>(j * shape.k + k)]);
        }
        return sum;
    }

    [[nodiscard]] std::vector<float> reference() const {
        std::vector<float> c = initial;
        MatmulArgs r = args;
        r.c = c.data();
        matmul_reference(r);
        return c;
    }
};

// The float tolerance. A float dot product of K terms accumulated in any order (FMA chains, K chunks added
// into C) errs by at most about K * u * S, where u = 2^-24 and S is the sum of the terms' magnitudes; for
// terms of random sign the error grows like sqrt(K) * u * S, and that is the scale used here, with a margin of
// 16 (16 * 2^-24 ~ 1e-6). A lost or doubled term of size ~S/K, the kind of bug this must catch, is larger by
// orders of magnitude at every K tested. F16 and BF16 weights convert to F32 exactly, so they add nothing.
double float_bound(double magnitude, std::int64_t k) {
    return 1e-6 * magnitude * (1.0 + std::sqrt(static_cast<double>(k)));
}

void expect_near_reference(const Problem& p, const std::vector<float>& actual, const std::vector<float>& expected) {
    for (std::int64_t i = 0; i < p.shape.m; ++i) {
        for (std::int64_t j = 0; j < p.args.ldc; ++j) {
            const auto at = static_cast<std::size_t>(i * p.args.ldc + j);
            if (j >= p.shape.n) {
                ASSERT_EQ(std::memcmp(&actual[at], &p.initial[at], sizeof(float)), 0)
                    << "wrote into the ldc padding at row " << i << " col " << j;
                continue;
            }
            ASSERT_NEAR(actual[at], expected[at], float_bound(p.magnitude(i, j), p.shape.k))
                << "row " << i << " col " << j;
        }
    }
}

void expect_matches_reference(nd_dtype type, const Case& c, Isa isa, core::ThreadPool& pool, std::mt19937& rng) {
    SCOPED_TRACE(describe(type, isa, c, pool.size()));
    Problem p(type, c, rng);
    const std::vector<float> expected = p.reference();
    std::vector<float> actual = p.initial;
    MatmulArgs args = p.args;
    args.c = actual.data();
    matmul(args, pool, isa);
    expect_near_reference(p, actual, expected);
}

// Sizes around every blocking boundary of every ISA: tiles of 4/6/14 rows and 8/16/32 columns, vectors of 8
// and 16 k in the packing, K chunks of up to 768 (1600 takes 3), and sizes the tiles divide.
TEST(Matmul, Float_weights_match_the_reference_on_every_isa_at_odd_sizes) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    const std::int64_t ms[] = {1, 3, 7, 17, 33, 77, 130};
    const std::int64_t ns[] = {1, 3, 7, 17, 33, 77, 130};
    const std::int64_t ks[] = {1, 7, 64, 300, 1600};
    int variant = 0;
    for (nd_dtype type : kFloatTypes) {
        for (Isa isa : supported_isas()) {
            for (std::int64_t m : ms) {
                for (std::int64_t n : ns) {
                    for (std::int64_t k : ks) {
                        if (k > 1000 && m * n > 33 * 33) {
                            continue; // several K chunks: the small sizes show it, the reference is slow on large
                        }
                        // Bias, accumulation and padded leading dimensions cycle through the combinations.
                        Case c{m, n, k, (variant & 1) != 0, (variant & 2) != 0, (variant & 4) != 0 ? 5 : 0,
                               (variant & 8) != 0 ? 3 : 0};
                        ++variant;
                        expect_matches_reference(type, c, isa, pool, rng);
                        if (HasFatalFailure()) {
                            return;
                        }
                    }
                }
            }
        }
    }
}

TEST(Matmul, Float_weights_match_the_reference_at_sd_like_shapes_with_views_bias_and_accumulation) {
    std::mt19937 rng(2);
    core::ThreadPool pool(3);
    const Case cases[] = {
        {154, 320, 768, true, false, 0, 0},   // text conditioning projection
        {256, 320, 320, true, true, 320, 64}, // A and C are column slices of wider matrices
        {77, 64, 2000, false, true, 1, 1},    // 3 K chunks
        {64, 96, 32, true, false, 0, 0},      // tiles divide every size
        {3, 2100, 1030, true, false, 2, 0},   // the packed weights take more than one slab
    };
    for (nd_dtype type : kFloatTypes) {
        for (Isa isa : supported_isas()) {
            for (const Case& c : cases) {
                if (c.n * c.k > 1'000'000 && isa != best_isa()) {
                    continue; // the slab case is slow on the scalar variant and tests the driver, not the ISA
                }
                expect_matches_reference(type, c, isa, pool, rng);
                if (HasFatalFailure()) {
                    return;
                }
            }
        }
    }
}

// Every F16 and BF16 bit pattern through the packing conversion (F16C or shifts, or the scalar converter), bit
// for bit against core::f16_to_f32 / bf16_to_f32: subnormals and infinities; NaN stays NaN; -0 comes out +0,
// as from any sum that starts at zero. With k = 1 and A = [1], C is W itself, exactly (the masked or copied
// tail path); with k = 16 and A the identity, C is W transposed (the full-vector path), where 0 * inf makes
// rows holding an infinity or NaN NaN throughout, so those rows are left to the k = 1 pass.
TEST(Matmul, Every_f16_and_bf16_weight_converts_exactly_on_every_isa) {
    std::vector<std::uint16_t> bits(65536);
    for (std::size_t i = 0; i < bits.size(); ++i) {
        bits[i] = static_cast<std::uint16_t>(i);
    }
    core::ThreadPool pool(2);
    for (std::int64_t k : {1, 16}) {
        const std::int64_t n = 65536 / k;
        std::vector<float> identity(static_cast<std::size_t>(k * k), 0.0f);
        for (std::int64_t i = 0; i < k; ++i) {
            identity[static_cast<std::size_t>(i * k + i)] = 1.0f;
        }
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16}) {
            auto to_f32 = [&](std::uint16_t b) { return type == ND_DTYPE_F16 ? core::f16_to_f32(b) : core::bf16_to_f32(b); };
            for (Isa isa : supported_isas()) {
                SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)) +
                             " k=" + std::to_string(k));
                std::vector<float> c(static_cast<std::size_t>(k * n));
                MatmulArgs args;
                args.m = k;
                args.n = n;
                args.k = k;
                args.a = identity.data();
                args.lda = k;
                args.w = reinterpret_cast<const std::byte*>(bits.data());
                args.w_type = type;
                args.w_row_stride = k * 2;
                args.c = c.data();
                args.ldc = n;
                matmul(args, pool, isa);
                for (std::int64_t j = 0; j < n; ++j) {
                    const auto row = bits.begin() + j * k;
                    if (k > 1 && std::any_of(row, row + k, [&](std::uint16_t b) { return !std::isfinite(to_f32(b)); })) {
                        continue;
                    }
                    for (std::int64_t i = 0; i < k; ++i) {
                        const std::uint16_t b = row[i];
                        const float expected = to_f32(b);
                        const float actual = c[static_cast<std::size_t>(i * n + j)];
                        if (std::isnan(expected)) {
                            ASSERT_TRUE(std::isnan(actual)) << "bits 0x" << std::hex << b;
                        } else if (expected == 0.0f) {
                            ASSERT_EQ(actual, 0.0f) << "bits 0x" << std::hex << b; // sums start at +0: -0 + 0 = +0
                        } else {
                            ASSERT_EQ(std::bit_cast<std::uint32_t>(actual), std::bit_cast<std::uint32_t>(expected))
                                << "bits 0x" << std::hex << b;
                        }
                    }
                }
            }
        }
    }
}

TEST(Matmul, Thread_count_does_not_change_the_result) {
    std::mt19937 rng(3);
    const Case cases[] = {{600, 300, 320, true, false, 0, 0}, {5, 1000, 77, false, true, 3, 0}, {1, 1, 9, true, false, 0, 0}};
    for (nd_dtype type : kFloatTypes) {
        for (const Case& c : cases) {
            SCOPED_TRACE(describe(type, best_isa(), c, 0));
            Problem p(type, c, rng);
            std::vector<std::vector<float>> results;
            for (int threads : {1, 2, 3, 8}) {
                core::ThreadPool pool(threads);
                std::vector<float> out = p.initial;
                MatmulArgs args = p.args;
                args.c = out.data();
                matmul(args, pool);
                results.push_back(std::move(out));
            }
            // Each element is computed by one task in the same K order whatever the split: bitwise equal.
            for (std::size_t r = 1; r < results.size(); ++r) {
                EXPECT_EQ(std::memcmp(results[0].data(), results[r].data(), results[0].size() * sizeof(float)), 0)
                    << "pool " << r;
            }
            expect_near_reference(p, results.back(), p.reference());
        }
    }
}

TEST(Matmul, More_threads_than_work_still_computes_everything) {
    std::mt19937 rng(4);
    core::ThreadPool pool(16);
    for (const Case& c : {Case{1, 1, 1, true, false, 0, 0}, Case{2, 40, 3, false, true, 0, 0},
                          Case{30, 2, 50, true, true, 0, 0}}) {
        for (Isa isa : supported_isas()) {
            expect_matches_reference(ND_DTYPE_F32, c, isa, pool, rng);
        }
    }
}

TEST(Matmul, Packed_weights_give_the_same_result_as_unpacked_ones) {
    std::mt19937 rng(5);
    core::ThreadPool pool(3);
    for (nd_dtype type : kFloatTypes) {
        for (Isa isa : supported_isas()) {
            const Case c{45, 70, 333, true, true, 2, 1};
            SCOPED_TRACE(describe(type, isa, c, pool.size()));
            Problem p(type, c, rng);
            const gemm::PackedWeights packed =
                gemm::pack_weights(p.args.w, type, c.n, c.k, p.args.w_row_stride, pool, isa);
            EXPECT_EQ(packed.n(), c.n);
            EXPECT_EQ(packed.k(), c.k);
            EXPECT_EQ(packed.isa(), isa);
            std::vector<float> unpacked = p.initial;
            MatmulArgs args = p.args;
            args.c = unpacked.data();
            matmul(args, pool, isa);
            std::vector<float> from_packed = p.initial;
            gemm::PackedMatmulArgs pa;
            pa.m = c.m;
            pa.a = p.args.a;
            pa.lda = p.args.lda;
            pa.bias = p.args.bias;
            pa.c = from_packed.data();
            pa.ldc = p.args.ldc;
            pa.accumulate = c.accumulate;
            gemm::matmul_packed(pa, packed, pool);
            EXPECT_EQ(std::memcmp(unpacked.data(), from_packed.data(), unpacked.size() * sizeof(float)), 0);
        }
    }
}

TEST(Matmul, Packed_weights_reject_bad_arguments_naming_them) {
    core::ThreadPool pool(1);
    std::vector<float> w(64, 1.0f);
    const auto* bytes = reinterpret_cast<const std::byte*>(w.data());
    auto message = [&](auto&& call) -> std::string {
        try {
            call();
        } catch (const core::Error& e) {
            EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT);
            return e.what();
        }
        return "no error";
    };
    EXPECT_NE(message([&] { (void)gemm::pack_weights(bytes, ND_DTYPE_F32, 0, 8, 32, pool); }).find("n=0"),
              std::string::npos);
    EXPECT_NE(message([&] { (void)gemm::pack_weights(bytes, ND_DTYPE_F32, 2, 8, 16, pool); }).find("w_row_stride=16"),
              std::string::npos);
    EXPECT_NE(message([&] { (void)gemm::pack_weights(bytes, ND_DTYPE_Q8_0, 2, 32, 34, pool); }).find("Q8_0"),
              std::string::npos);
    const gemm::PackedWeights packed = gemm::pack_weights(bytes, ND_DTYPE_F32, 2, 8, 32, pool);
    std::vector<float> a(16);
    std::vector<float> c(4);
    gemm::PackedMatmulArgs pa;
    pa.m = 2;
    pa.a = a.data();
    pa.lda = 7;
    pa.c = c.data();
    pa.ldc = 2;
    EXPECT_NE(message([&] { gemm::matmul_packed(pa, packed, pool); }).find("lda=7 is smaller than k=8"),
              std::string::npos);
    pa.lda = 8;
    pa.ldc = 1;
    EXPECT_NE(message([&] { gemm::matmul_packed(pa, packed, pool); }).find("ldc=1 is smaller than n=2"),
              std::string::npos);
    EXPECT_NE(message([&] { gemm::matmul_packed(pa, gemm::PackedWeights{}, pool); }).find("empty"), std::string::npos);
}

// The quantized kernels quantize each 32 (or 16) k group of a row of A to 8 bits, q = round(x / d) with
// d = max|x| / 127, so they compute A'·Wᵀ with |A' - A| <= d / 2 per element: the bound is that, summed over k
// against |W|, plus the float bound. Their detailed tests are quant/test_quant_matmul.cpp; this one only checks
// that matmul() routes every block type there and gets its contract.
TEST(Matmul, Block_quantized_weights_go_through_matmul_within_the_activation_quantization_bound) {
    std::mt19937 rng(6);
    core::ThreadPool pool(2);
    for (nd_dtype type : {ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1, ND_DTYPE_Q2_K,
                          ND_DTYPE_Q3_K, ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K}) {
        const std::int64_t k = core::dtype_block_elements(type) == 32 ? 96 : 512;
        for (Isa isa : supported_isas()) {
            const Case c{19, 37, k, true, true, 3, 2};
            SCOPED_TRACE(describe(type, isa, c, pool.size()));
            Problem p(type, c, rng);
            const std::vector<float> expected = p.reference();
            std::vector<float> actual = p.initial;
            MatmulArgs args = p.args;
            args.c = actual.data();
            matmul(args, pool, isa);
            for (std::int64_t i = 0; i < c.m; ++i) {
                for (std::int64_t j = 0; j < c.n; ++j) {
                    // Groups of 32: the formats with 16-k groups have a smaller d, so this bounds them too.
                    double bound = float_bound(p.magnitude(i, j), k);
                    for (std::int64_t g = 0; g < k; g += 32) {
                        float d = 0.0f;
                        for (std::int64_t kk = g; kk < g + 32; ++kk) {
                            d = std::max(d, std::fabs(p.a[static_cast<std::size_t>(i * args.lda + kk)]));
                        }
                        d /= 127.0f;
                        for (std::int64_t kk = g; kk < g + 32; ++kk) {
                            bound += 0.5 * d * std::fabs(p.w.values[static_cast<std::size_t>(j * k + kk)]);
                        }
                    }
                    const auto at = static_cast<std::size_t>(i * args.ldc + j);
                    ASSERT_NEAR(actual[at], expected[at], bound * 1.01 + 1e-6) << "row " << i << " col " << j;
                }
            }
        }
    }
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
    auto expect_error = [&](MatmulArgs args, const std::string& needle, nd_status status = ND_STATUS_INVALID_ARGUMENT) {
        for (bool reference : {false, true}) {
            try {
                if (reference) {
                    matmul_reference(args);
                } else {
                    matmul(args, pool);
                }
                ADD_FAILURE() << "no error for " << needle << (reference ? " (reference)" : "");
            } catch (const core::Error& e) {
                EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
                EXPECT_EQ(e.status(), status) << e.what();
            }
        }
    };
    MatmulArgs args = base();
    args.m = 0;
    expect_error(args, "m=0 must be positive");
    args = base();
    args.n = -3;
    expect_error(args, "n=-3 must be positive");
    args = base();
    args.k = 0;
    expect_error(args, "k=0 must be positive");
    args = base();
    args.a = nullptr;
    expect_error(args, "a is NULL");
    args = base();
    args.w = nullptr;
    expect_error(args, "w is NULL");
    args = base();
    args.c = nullptr;
    expect_error(args, "c is NULL");
    args = base();
    args.lda = 31;
    expect_error(args, "lda=31 is smaller than k=32");
    args = base();
    args.ldc = 1;
    expect_error(args, "ldc=1 is smaller than n=2");
    args = base();
    args.w_row_stride = 100;
    expect_error(args, "w_row_stride=100 is smaller than a F32 row of k=32 (128 bytes)");
    args = base();
    args.w_type = ND_DTYPE_F16;
    args.w_row_stride = 63;
    expect_error(args, "w_row_stride=63 is smaller than a F16 row of k=32 (64 bytes)");
    args = base();
    args.w_type = ND_DTYPE_Q4_K;
    expect_error(args, "k=32 is not a multiple of the Q4_K block of 256 elements");
    args = base();
    args.w_type = ND_DTYPE_Q8_0;
    args.k = 48;
    args.lda = 48;
    expect_error(args, "k=48 is not a multiple of the Q8_0 block of 32 elements");
    args = base();
    args.w_type = ND_DTYPE_I32;
    expect_error(args, "w_type I32 is not supported", ND_STATUS_UNSUPPORTED);
}

TEST(Matmul, An_isa_the_cpu_lacks_is_refused) {
    if (isa_supported(Isa::Neon, cpu_features())) {
        GTEST_SKIP() << "this CPU has every variant tested here";
    }
    std::vector<float> a(4, 1.0f);
    std::vector<float> w(4, 1.0f);
    std::vector<float> c(4);
    MatmulArgs args;
    args.m = 2;
    args.n = 2;
    args.k = 2;
    args.a = a.data();
    args.lda = 2;
    args.w = reinterpret_cast<const std::byte*>(w.data());
    args.w_row_stride = 8;
    args.c = c.data();
    args.ldc = 2;
    core::ThreadPool pool(1);
    try {
        matmul(args, pool, Isa::Neon);
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_UNSUPPORTED);
        EXPECT_NE(std::string(e.what()).find("neon"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace nd::backends::cpu
