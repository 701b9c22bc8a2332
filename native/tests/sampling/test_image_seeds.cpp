#include "sampling/image_seeds.hpp"

#include <gtest/gtest.h>

#include <algorithm>

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

TEST(PerImageNoise, A_batch_fill_gives_each_image_the_noise_it_gets_alone) {
    PerImageNoise batch(image_generators(NoiseSource::TorchCpu, 100, 3));
    const std::vector<float> latents = batch.randn(3 * 256);
    const std::vector<float> steps = batch.randn(3 * 256);
    for (std::uint64_t image = 0; image < 3; ++image) {
        TorchCpuGenerator alone(100 + image);
        const std::vector<float> own_latents = alone.randn(256);
        const std::vector<float> own_step = alone.randn(256);
        EXPECT_TRUE(std::equal(own_latents.begin(), own_latents.end(), latents.begin() + image * 256)) << image;
        EXPECT_TRUE(std::equal(own_step.begin(), own_step.end(), steps.begin() + image * 256)) << image;
    }
}

TEST(PerImageNoise, Uneven_fills_and_empty_batches_are_rejected) {
    PerImageNoise batch(image_generators(NoiseSource::TorchCpu, 1, 3));
    std::vector<float> values(10);
    EXPECT_THROW(batch.fill_randn(values), core::Error);
    EXPECT_THROW(PerImageNoise({}), core::Error);
}

} // namespace
} // namespace nd::sampling
