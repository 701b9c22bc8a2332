#include "sampling/image_seeds.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sampling/rng_cpu.hpp"
#include "sampling/rng_cuda.hpp"

namespace nd::sampling {
namespace {

TEST(ImageSeeds, Seeds_increment_per_image_and_wrap_at_two_to_the_64) {
    EXPECT_EQ(image_seeds(7, 3), (std::vector<std::uint64_t>{7, 8, 9}));
    EXPECT_EQ(image_seeds(UINT64_MAX, 2), (std::vector<std::uint64_t>{UINT64_MAX, 0}));
    EXPECT_TRUE(image_seeds(7, 0).empty());
    EXPECT_THROW((void)image_seeds(7, -1), core::Error);
}

TEST(ImageSeeds, Each_image_gets_its_own_generator_as_if_generated_alone) {
    std::vector<std::unique_ptr<NoiseGenerator>> generators = image_generators(NoiseSource::TorchCpu, 41, 3);
    ASSERT_EQ(generators.size(), 3U);
    // Drawing image 0's latents does not move image 1's stream.
    (void)generators[0]->randn(256);
    TorchCpuGenerator alone(42);
    EXPECT_EQ(generators[1]->randn(256), alone.randn(256));
}

TEST(ImageSeeds, Cuda_source_gives_philox_generators) {
    std::vector<std::unique_ptr<NoiseGenerator>> generators = image_generators(NoiseSource::TorchCuda, 5, 2);
    TorchCudaGenerator alone(6);
    EXPECT_EQ(generators[1]->randn(64), alone.randn(64));
}

} // namespace
} // namespace nd::sampling
