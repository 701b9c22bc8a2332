// torch.Generator('cuda') and torch.randn on it, reproduced on the CPU.
//
// torch draws float normals on CUDA with Philox4x32-10 (curand's counter-based generator): thread `idx` of
// the launch runs curand_init(seed, subsequence = idx, offset = the generator's Philox offset) and each
// call of curand_normal4 turns one Philox block (4 x 32 bits) into 4 normals by Box-Muller. The launch is
// 256 threads per block and min(ceil(n / 256), multiprocessors * (max threads per multiprocessor / 256))
// blocks; with `stride` threads in all, thread idx's k-th call writes elements
// idx + (4k + i) * stride for i = 0..3 (those below n). After a draw the offset advances by
// 4 * ceil(n / (4 * stride)), rounded up to a multiple of 4.
//
// So the values depend on the GPU only when n exceeds 256 times the launch limit (RTX 4090: 128 x 6 blocks,
// 196,608 values; SD latents of 1024x1024 are 65,536): CudaLaunchLimits says which GPU to imitate.
// On the GPU, curand uses the fast __logf / __sincosf approximations; here they are computed exactly, so
// values agree to about 2e-6 rather than bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "sampling/noise_generator.hpp"

namespace nd::sampling {

struct CudaLaunchLimits {
    std::uint32_t multiprocessor_count = 128;           // an RTX 4090
    std::uint32_t max_threads_per_multiprocessor = 1536;
};

class TorchCudaGenerator final : public NoiseGenerator {
public:
    explicit TorchCudaGenerator(std::uint64_t seed, CudaLaunchLimits limits = {});

    void fill_randn(std::span<float> out) override;
    [[nodiscard]] std::unique_ptr<NoiseGenerator> clone() const override;

    // The Philox offset per thread that the next draw starts from (torch's philox_offset_per_thread).
    [[nodiscard]] std::uint64_t philox_offset() const noexcept { return offset_; }

private:
    std::uint64_t seed_;
    std::uint64_t offset_ = 0;
    CudaLaunchLimits limits_;
};

namespace detail {
using PhiloxBlock = std::array<std::uint32_t, 4>;
// Philox4x32 with 10 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), as curand.
PhiloxBlock philox4x32_10(PhiloxBlock counter, std::uint64_t key) noexcept;
} // namespace detail

} // namespace nd::sampling
