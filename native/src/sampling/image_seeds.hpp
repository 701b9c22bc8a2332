// Seeds for a batch of images: image i gets seed + i and a generator of its own, as the web UIs do, so any
// image of a batch can be regenerated alone from its seed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sampling/noise_generator.hpp"

namespace nd::sampling {

// seed, seed + 1, ... (wrapping at 2^64 as torch's uint64 seeds do).
std::vector<std::uint64_t> image_seeds(std::uint64_t seed, int count);

// One freshly seeded generator per image, seeded as image_seeds() says. Throws Error(ND_STATUS_INVALID_ARGUMENT)
// for a negative count.
std::vector<std::unique_ptr<NoiseGenerator>> image_generators(NoiseSource source, std::uint64_t seed, int count);

// The noise of a batch whose images each have their own generator: a fill of the whole batch's latents
// (images one after another, equal sizes) gives each image its slice from its own generator, so a batch
// sampled in one run_sampler call gets, image by image, exactly the noise of that image generated alone.
class PerImageNoise final : public NoiseGenerator {
public:
    // Throws Error(ND_STATUS_INVALID_ARGUMENT) when `generators` is empty or holds a null generator.
    explicit PerImageNoise(std::vector<std::unique_ptr<NoiseGenerator>> generators);

    // Throws Error(ND_STATUS_INVALID_ARGUMENT) when out.size() is not a multiple of the image count.
    void fill_randn(std::span<float> out) override;
    [[nodiscard]] std::unique_ptr<NoiseGenerator> clone() const override;

    [[nodiscard]] std::size_t images() const noexcept { return generators_.size(); }
    [[nodiscard]] NoiseGenerator& image(std::size_t index) { return *generators_.at(index); }

private:
    std::vector<std::unique_ptr<NoiseGenerator>> generators_;
};

} // namespace nd::sampling
