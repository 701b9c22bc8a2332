#include "sampling/image_seeds.hpp"

#include <utility>

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

PerImageNoise::PerImageNoise(std::vector<std::unique_ptr<NoiseGenerator>> generators)
    : generators_(std::move(generators)) {
    if (generators_.empty()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "a batch needs at least one image generator");
    }
    for (std::size_t i = 0; i < generators_.size(); ++i) {
        if (!generators_[i]) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "image generator {} is null", i);
        }
    }
}

void PerImageNoise::fill_randn(std::span<float> out) {
    if (out.size() % generators_.size() != 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} noise values cannot be split evenly over {} images",
                          out.size(), generators_.size());
    }
    const std::size_t per_image = out.size() / generators_.size();
    for (std::size_t i = 0; i < generators_.size(); ++i) {
        generators_[i]->fill_randn(out.subspan(i * per_image, per_image));
    }
}

std::unique_ptr<NoiseGenerator> PerImageNoise::clone() const {
    std::vector<std::unique_ptr<NoiseGenerator>> copies;
    for (const std::unique_ptr<NoiseGenerator>& generator : generators_) {
        copies.push_back(generator->clone());
    }
    return std::make_unique<PerImageNoise>(std::move(copies));
}

} // namespace nd::sampling
