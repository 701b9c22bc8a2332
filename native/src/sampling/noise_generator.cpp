#include "sampling/noise_generator.hpp"

#include "core/error.hpp"
#include "sampling/rng_cpu.hpp"
#include "sampling/rng_cuda.hpp"

namespace nd::sampling {

NoiseSource parse_noise_source(std::string_view name) {
    if (name == "cpu") {
        return NoiseSource::TorchCpu;
    }
    if (name == "cuda") {
        return NoiseSource::TorchCuda;
    }
    core::throw_error(ND_STATUS_INVALID_ARGUMENT, "unknown noise source '{}': valid sources are cpu, cuda", name);
}

std::string_view noise_source_name(NoiseSource source) noexcept {
    return source == NoiseSource::TorchCuda ? "cuda" : "cpu";
}

std::unique_ptr<NoiseGenerator> make_noise_generator(NoiseSource source, std::uint64_t seed) {
    if (source == NoiseSource::TorchCuda) {
        return std::make_unique<TorchCudaGenerator>(seed);
    }
    return std::make_unique<TorchCpuGenerator>(seed);
}

} // namespace nd::sampling
