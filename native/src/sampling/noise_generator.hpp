// Where sampling noise comes from: a stateful stream of standard normal values.
//
// Generators reproduce PyTorch's generators so that a seed gives the image users know from diffusers and the
// web UIs: successive fills continue one stream exactly as successive torch.randn calls on one
// torch.Generator do (the pipeline draws the initial latents, then per-step noise, from the same generator).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace nd::sampling {

class NoiseGenerator {
public:
    NoiseGenerator() = default;
    NoiseGenerator(const NoiseGenerator&) = default;
    NoiseGenerator& operator=(const NoiseGenerator&) = default;
    virtual ~NoiseGenerator() = default;

    // Fills `out` as torch.randn(shape, generator=g) does for a contiguous float32 tensor of out.size()
    // elements (for these generators the values depend on the element count only, not on the shape).
    virtual void fill_randn(std::span<float> out) = 0;

    // An independent copy with the same position in the stream.
    [[nodiscard]] virtual std::unique_ptr<NoiseGenerator> clone() const = 0;

    [[nodiscard]] std::vector<float> randn(std::size_t count) {
        std::vector<float> values(count);
        fill_randn(values);
        return values;
    }
};

// Which PyTorch generator to reproduce.
enum class NoiseSource {
    TorchCpu,  // torch.Generator('cpu'): diffusers' default and the reference fixtures
    TorchCuda, // torch.Generator('cuda'): what most web UIs seed on an NVIDIA GPU
};

// "cpu" or "cuda"; throws Error(ND_STATUS_INVALID_ARGUMENT) naming the valid values otherwise.
NoiseSource parse_noise_source(std::string_view name);
std::string_view noise_source_name(NoiseSource source) noexcept;

// A generator freshly seeded like torch.Generator(device).manual_seed(seed).
std::unique_ptr<NoiseGenerator> make_noise_generator(NoiseSource source, std::uint64_t seed);

} // namespace nd::sampling
