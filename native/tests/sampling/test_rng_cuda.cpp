#include "sampling/rng_cuda.hpp"

#include <gtest/gtest.h>

#include "sampling/reference_tensors.hpp"

namespace nd::sampling {
namespace {

using testing::max_abs_difference;
using testing::ReferenceTensors;

// curand computes Box-Muller with the GPU's approximate __logf and __sincosf; this generator computes them
// exactly, so values agree to a few ulps of the approximations (measured: at most 1.97e-6 over all fixtures)
// rather than bit for bit. A wrong counter, subsequence or element layout gives errors of order 1.
constexpr double kGpuApproximationTolerance = 4e-6;

TEST(TorchCudaGenerator, Randn_matches_torch_on_cuda_for_every_fixture_seed_and_shape) {
    ND_SKIP_IF_FIXTURE_MISSING(testing::reference_tensors_path());
    const ReferenceTensors reference;
    const struct {
        const char* name;
        std::size_t count;
    } shapes[] = {{"5", 5}, {"16", 16}, {"1x4x8x8", 256}, {"1x4x64x64", 16384}};
    int compared = 0;
    for (const std::uint64_t seed : {0ULL, 42ULL, 1234567ULL}) {
        for (const auto& shape : shapes) {
            const std::string key = "rng.cuda.seed" + std::to_string(seed) + "." + shape.name;
            const std::optional<std::vector<float>> expected = reference.find(key);
            ASSERT_TRUE(expected.has_value()) << key;
            TorchCudaGenerator generator(seed);
            const std::vector<float> values = generator.randn(shape.count);
            EXPECT_LE(max_abs_difference(values, *expected), kGpuApproximationTolerance) << key;
            ++compared;
        }
    }
    EXPECT_EQ(compared, 12);
}

TEST(TorchCudaGenerator, Philox_matches_the_published_known_answer) {
    // Random123's known-answer test for philox4x32_10: counter and key all ones.
    const detail::PhiloxBlock all_ones = detail::philox4x32_10(
        {0xffffffffU, 0xffffffffU, 0xffffffffU, 0xffffffffU}, 0xffffffffffffffffULL);
    EXPECT_EQ(all_ones, (detail::PhiloxBlock{0x408f276dU, 0x41c83b0eU, 0xa20bc7c6U, 0x6d5451fdU}));
    const detail::PhiloxBlock zeros = detail::philox4x32_10({0, 0, 0, 0}, 0);
    EXPECT_EQ(zeros, (detail::PhiloxBlock{0x6627e8d5U, 0xe169c58dU, 0xbc57ac4cU, 0x9b00dbd8U}));
}

TEST(TorchCudaGenerator, Offset_advances_by_four_per_draw_that_fits_one_call_per_thread) {
    TorchCudaGenerator generator(1);
    (void)generator.randn(256);
    EXPECT_EQ(generator.philox_offset(), 4U);
    (void)generator.randn(5);
    EXPECT_EQ(generator.philox_offset(), 8U);
}

TEST(TorchCudaGenerator, Beyond_the_launch_limit_threads_loop_and_the_offset_grows) {
    // One multiprocessor of 256 threads: 2000 values need ceil(2000 / 1024) = 2 calls per thread.
    TorchCudaGenerator small(9, CudaLaunchLimits{1, 256});
    const std::vector<float> values = small.randn(2000);
    EXPECT_EQ(small.philox_offset(), 8U);
    // Element 256 is thread 0's second value of its first call: not what a wide launch puts there.
    TorchCudaGenerator wide(9);
    const std::vector<float> wide_values = wide.randn(2000);
    EXPECT_EQ(values[0], wide_values[0]);
    EXPECT_NE(values[256], wide_values[256]);
}

TEST(TorchCudaGenerator, Successive_draws_differ_and_continue_from_the_offset) {
    TorchCudaGenerator generator(0);
    const std::vector<float> first = generator.randn(16);
    const std::vector<float> second = generator.randn(16);
    EXPECT_NE(first, second);
    TorchCudaGenerator again(0);
    EXPECT_EQ(again.randn(16), first);
}

} // namespace
} // namespace nd::sampling
