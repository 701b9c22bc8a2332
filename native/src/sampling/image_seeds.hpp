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

} // namespace nd::sampling
