#include "sampling/noise_generator.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sampling/rng_cpu.hpp"

namespace nd::sampling {
namespace {

TEST(NoiseGenerator, Sources_parse_from_their_device_names) {
    EXPECT_EQ(parse_noise_source("cpu"), NoiseSource::TorchCpu);
    EXPECT_EQ(parse_noise_source("cuda"), NoiseSource::TorchCuda);
    EXPECT_EQ(noise_source_name(NoiseSource::TorchCuda), "cuda");
}

TEST(NoiseGenerator, Unknown_source_lists_the_valid_ones) {
    try {
        (void)parse_noise_source("gpu");
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        const std::string message(error.message());
        EXPECT_NE(message.find("'gpu'"), std::string::npos);
        EXPECT_NE(message.find("cpu, cuda"), std::string::npos);
    }
}

TEST(NoiseGenerator, Made_generators_are_seeded_like_torch) {
    const std::unique_ptr<NoiseGenerator> made = make_noise_generator(NoiseSource::TorchCpu, 1234567);
    TorchCpuGenerator direct(1234567);
    EXPECT_EQ(made->randn(5), direct.randn(5));
}

} // namespace
} // namespace nd::sampling
