#include "sampling/rng_cpu.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "sampling/reference_tensors.hpp"

namespace nd::sampling {
namespace {

using testing::max_abs_difference;
using testing::ReferenceTensors;

constexpr std::uint64_t kSeeds[] = {0, 42, 1234567};
constexpr struct {
    const char* name;
    std::size_t count;
} kShapes[] = {{"5", 5}, {"16", 16}, {"1x4x8x8", 256}, {"1x4x64x64", 16384}};

bool bit_identical(std::span<const float> a, std::span<const float> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

TEST(TorchCpuGenerator, Randn_is_bit_identical_to_torch_for_every_fixture_seed_and_shape) {
    ND_SKIP_IF_FIXTURE_MISSING(testing::reference_tensors_path());
    const ReferenceTensors reference;
    int compared = 0;
    for (const std::uint64_t seed : kSeeds) {
        for (const auto& shape : kShapes) {
            const std::string key = "rng.cpu.seed" + std::to_string(seed) + "." + shape.name;
            const std::optional<std::vector<float>> expected = reference.find(key);
            ASSERT_TRUE(expected.has_value()) << key;
            TorchCpuGenerator generator(seed);
            const std::vector<float> values = generator.randn(shape.count);
            EXPECT_TRUE(bit_identical(values, *expected))
                << key << ": max abs error " << max_abs_difference(values, *expected);
            ++compared;
        }
    }
    EXPECT_EQ(compared, 12);
}

TEST(TorchCpuGenerator, Engine_is_mt19937_seeded_with_the_low_32_bits) {
    TorchCpuGenerator generator((std::uint64_t{7} << 32) | 1234U);
    std::mt19937 standard(1234U);
    for (int i = 0; i < 1000; ++i) {
        ASSERT_EQ(generator.next_u32(), standard()) << i;
    }
}

TEST(TorchCpuGenerator, Fewer_than_16_values_keep_the_second_box_muller_value_for_the_next_draw) {
    // torch caches r*sin of the last pair in the generator: 5 values then 1 give the same stream as 6.
    TorchCpuGenerator split(42);
    std::vector<float> first = split.randn(5);
    const std::vector<float> second = split.randn(1);
    first.push_back(second[0]);
    TorchCpuGenerator whole(42);
    EXPECT_TRUE(bit_identical(first, whole.randn(6)));
}

TEST(TorchCpuGenerator, Successive_draws_continue_the_stream) {
    // 256 values then 16: the second draw starts where the first left the engine (256 uniforms consumed).
    TorchCpuGenerator generator(7);
    (void)generator.randn(256);
    const std::vector<float> continued = generator.randn(16);

    TorchCpuGenerator reference(7);
    for (int i = 0; i < 256; ++i) {
        (void)reference.next_u32();
    }
    std::vector<float> expected(16);
    for (float& value : expected) {
        value = static_cast<float>(reference.next_u32() & 0xffffffU) * (1.0F / 16777216.0F);
    }
    detail::torch_normal_fill_16(expected.data());
    EXPECT_TRUE(bit_identical(continued, expected));
}

TEST(TorchCpuGenerator, A_tail_redraws_sixteen_values_and_consumes_sixteen_more_uniforms) {
    // 20 values: 20 uniforms, one block of 16, then 16 fresh uniforms recompute values 4..19.
    TorchCpuGenerator generator(3);
    const std::vector<float> values = generator.randn(20);
    TorchCpuGenerator reference(3);
    std::vector<float> uniforms(36);
    for (float& u : uniforms) {
        u = static_cast<float>(reference.next_u32() & 0xffffffU) * (1.0F / 16777216.0F);
    }
    std::vector<float> head(uniforms.begin(), uniforms.begin() + 16);
    detail::torch_normal_fill_16(head.data());
    std::vector<float> tail(uniforms.begin() + 20, uniforms.end());
    detail::torch_normal_fill_16(tail.data());
    EXPECT_TRUE(bit_identical(std::span(values).first(4), std::span(head).first(4)));
    EXPECT_TRUE(bit_identical(std::span(values).subspan(4), tail));
    EXPECT_EQ(generator.next_u32(), reference.next_u32());
}

TEST(TorchCpuGenerator, Values_are_standard_normal) {
    TorchCpuGenerator generator(11);
    const std::vector<float> values = generator.randn(200000);
    double sum = 0.0;
    double squares = 0.0;
    for (const float v : values) {
        ASSERT_TRUE(std::isfinite(v));
        sum += v;
        squares += static_cast<double>(v) * v;
    }
    const double mean = sum / values.size();
    EXPECT_NEAR(mean, 0.0, 0.01);
    EXPECT_NEAR(squares / values.size() - mean * mean, 1.0, 0.01);
}

TEST(TorchCpuGenerator, Clone_continues_from_the_same_position) {
    TorchCpuGenerator generator(5);
    (void)generator.randn(3); // leaves a cached normal
    const std::unique_ptr<NoiseGenerator> copy = generator.clone();
    EXPECT_TRUE(bit_identical(generator.randn(40), copy->randn(40)));
}

} // namespace
} // namespace nd::sampling
