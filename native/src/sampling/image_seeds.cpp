#include "sampling/image_seeds.hpp"

#include "core/error.hpp"

namespace nd::sampling {

std::vector<std::uint64_t> image_seeds(std::uint64_t seed, int count) {
    if (count < 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "image count must not be negative, got {}", count);
    }
    std::vector<std::uint64_t> seeds;
    seeds.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        seeds.push_back(seed + static_cast<std::uint64_t>(i));
    }
    return seeds;
}

std::vector<std::unique_ptr<NoiseGenerator>> image_generators(NoiseSource source, std::uint64_t seed, int count) {
    std::vector<std::unique_ptr<NoiseGenerator>> generators;
    for (const std::uint64_t image_seed : image_seeds(seed, count)) {
        generators.push_back(make_noise_generator(source, image_seed));
    }
    return generators;
}

} // namespace nd::sampling
