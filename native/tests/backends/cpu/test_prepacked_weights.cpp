#include "backends/cpu/prepacked_weights.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_features.hpp"
#include "backends/cpu/matmul.hpp"
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

// W [n, k] of `type` from uniform values, rows `pad` bytes longer than needed (a strided view).
std::vector<std::byte> weight_rows(nd_dtype type, std::int64_t n, std::int64_t k, std::int64_t row_stride,
                                   std::mt19937& rng) {
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> row(static_cast<std::size_t>(k));
    const auto row_bytes = core::dtype_row_bytes(type, static_cast<std::uint64_t>(k));
    std::vector<std::byte> bytes(static_cast<std::size_t>(row_stride * n));
    for (std::int64_t j = 0; j < n; ++j) {
        for (float& v : row) {
            v = uniform(rng);
        }
        quant::quantize_row(type, row, std::span(bytes.data() + j * row_stride, row_bytes));
    }
    return bytes;
}

// Rows of M that leave short register tiles, K of several chunks (float) and blocks (quantized), N that is
// not a whole panel.
TEST(PrepackedWeights, Matmul_by_prepacked_weights_is_bitwise_the_per_call_result_for_every_type_and_isa) {
    std::mt19937 rng(11);
    core::ThreadPool pool(3);
    const nd_dtype types[] = {ND_DTYPE_F32,  ND_DTYPE_F16,  ND_DTYPE_BF16, ND_DTYPE_Q8_0,
                              ND_DTYPE_Q4_0, ND_DTYPE_Q5_1, ND_DTYPE_Q4_K, ND_DTYPE_Q6_K};
    struct Shape {
        std::int64_t m, n, k;
    };
    for (Isa isa : supported_isas()) {
        for (nd_dtype type : types) {
            for (const Shape s : {Shape{45, 70, 1536}, Shape{3, 33, 256}, Shape{160, 64, 512}}) {
                SCOPED_TRACE(std::string(core::dtype_name(type)) + " " + std::string(isa_name(isa)) + " m=" +
                             std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
                const auto row_bytes =
                    static_cast<std::int64_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(s.k)));
                const std::int64_t stride = row_bytes + 64;
                const std::vector<std::byte> w = weight_rows(type, s.n, s.k, stride, rng);
                std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
                std::vector<float> a(static_cast<std::size_t>(s.m * (s.k + 3)));
                std::vector<float> bias(static_cast<std::size_t>(s.n));
                std::vector<float> initial(static_cast<std::size_t>(s.m * s.n));
                for (auto* v : {&a, &bias, &initial}) {
                    for (float& x : *v) {
                        x = uniform(rng);
                    }
                }
                for (bool accumulate : {false, true}) {
                    MatmulArgs args;
                    args.m = s.m;
                    args.n = s.n;
                    args.k = s.k;
                    args.a = a.data();
                    args.lda = s.k + 3;
                    args.w = w.data();
                    args.w_type = type;
                    args.w_row_stride = stride;
                    args.bias = bias.data();
                    args.ldc = s.n;
                    args.accumulate = accumulate;
                    std::vector<float> per_call = initial;
                    args.c = per_call.data();
                    matmul(args, pool, isa);
                    const PrepackedWeights packed =
                        PrepackedWeights::pack(w.data(), type, s.n, s.k, stride, pool, isa);
                    EXPECT_GT(packed.bytes(), 0u);
                    std::vector<float> once = initial;
                    args.c = once.data();
                    args.prepacked = &packed;
                    matmul(args, pool, isa);
                    ASSERT_EQ(std::memcmp(per_call.data(), once.data(), once.size() * sizeof(float)), 0);
                }
            }
        }
    }
}

// A 16-bit weight's packed copy takes the bytes of the weights (not an F32 copy's twice as many).
TEST(PrepackedWeights, Half_weights_pack_into_their_own_size) {
    std::mt19937 rng(12);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16}) {
            const std::vector<std::byte> w = weight_rows(type, 64, 320, 640, rng);
            const PrepackedWeights packed = PrepackedWeights::pack(w.data(), type, 64, 320, 640, pool, isa);
            EXPECT_EQ(packed.bytes(), 64u * 320u * 2u);
        }
    }
}

TEST(PrepackedWeights, Weights_packed_for_another_product_are_refused_naming_both) {
    std::mt19937 rng(13);
    core::ThreadPool pool(1);
    const std::vector<std::byte> w = weight_rows(ND_DTYPE_F16, 32, 64, 128, rng);
    const PrepackedWeights packed =
        PrepackedWeights::pack(w.data(), ND_DTYPE_F16, 32, 64, 128, pool, best_isa());
    std::vector<float> a(2 * 64, 1.0f);
    std::vector<float> c(2 * 32);
    MatmulArgs args;
    args.m = 2;
    args.n = 16; // not the packed 32
    args.k = 64;
    args.a = a.data();
    args.lda = 64;
    args.w = w.data();
    args.w_type = ND_DTYPE_F16;
    args.w_row_stride = 128;
    args.c = c.data();
    args.ldc = 32;
    args.prepacked = &packed;
    try {
        matmul(args, pool, best_isa());
        FAIL() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT);
        const std::string message = e.what();
        EXPECT_NE(message.find("F16 n=32 k=64"), std::string::npos) << message;
        EXPECT_NE(message.find("F16 n=16 k=64"), std::string::npos) << message;
    }
}

} // namespace
} // namespace nd::backends::cpu
