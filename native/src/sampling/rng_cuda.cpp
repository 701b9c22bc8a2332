#include "sampling/rng_cuda.hpp"

#include <algorithm>
#include <cmath>

namespace nd::sampling {

namespace detail {

PhiloxBlock philox4x32_10(PhiloxBlock counter, std::uint64_t key) noexcept {
    std::uint32_t k0 = static_cast<std::uint32_t>(key);
    std::uint32_t k1 = static_cast<std::uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t product0 = std::uint64_t{0xD2511F53U} * counter[0];
        const std::uint64_t product1 = std::uint64_t{0xCD9E8D57U} * counter[2];
        counter = {static_cast<std::uint32_t>(product1 >> 32) ^ counter[1] ^ k0, static_cast<std::uint32_t>(product1),
                   static_cast<std::uint32_t>(product0 >> 32) ^ counter[3] ^ k1, static_cast<std::uint32_t>(product0)};
        k0 += 0x9E3779B9U;
        k1 += 0xBB67AE85U;
    }
    return counter;
}

} // namespace detail

namespace {

constexpr std::uint64_t kThreadsPerBlock = 256;
constexpr std::uint64_t kValuesPerCall = 4; // curand_normal4

// curand's Box-Muller on two 32-bit words: the uniforms avoid 0 by a half step, the first is the radius's.
void box_muller(std::uint32_t a, std::uint32_t b, float& first, float& second) {
    constexpr float kInv2Pow32 = 2.3283064e-10F;
    constexpr float kInv2Pow32TwoPi = 2.3283064e-10F * 6.2831855F;
    const float u = static_cast<float>(a) * kInv2Pow32 + kInv2Pow32 / 2.0F;
    const float v = static_cast<float>(b) * kInv2Pow32TwoPi + kInv2Pow32TwoPi / 2.0F;
    const float radius = std::sqrt(-2.0F * std::log(u));
    first = radius * std::sin(v);
    second = radius * std::cos(v);
}

} // namespace

TorchCudaGenerator::TorchCudaGenerator(std::uint64_t seed, CudaLaunchLimits limits) : seed_(seed), limits_(limits) {}

std::unique_ptr<NoiseGenerator> TorchCudaGenerator::clone() const {
    return std::make_unique<TorchCudaGenerator>(*this);
}

void TorchCudaGenerator::fill_randn(std::span<float> out) {
    const std::uint64_t n = out.size();
    if (n == 0) {
        return; // torch launches nothing and leaves the offset alone
    }
    const std::uint64_t blocks_per_sm = std::max<std::uint64_t>(limits_.max_threads_per_multiprocessor / kThreadsPerBlock, 1);
    const std::uint64_t max_blocks = std::max<std::uint64_t>(limits_.multiprocessor_count, 1) * blocks_per_sm;
    const std::uint64_t blocks = std::min((n + kThreadsPerBlock - 1) / kThreadsPerBlock, max_blocks);
    const std::uint64_t stride = blocks * kThreadsPerBlock;
    const std::uint64_t calls_per_thread = (n - 1) / (stride * kValuesPerCall) + 1;

    // curand_init(seed, idx, offset) with an offset that is a multiple of 4 starts at counter offset / 4.
    const std::uint64_t first_counter = offset_ / 4;
    for (std::uint64_t idx = 0; idx < stride && idx < n; ++idx) {
        for (std::uint64_t call = 0; call < calls_per_thread; ++call) {
            const std::uint64_t counter = first_counter + call;
            const detail::PhiloxBlock bits = detail::philox4x32_10(
                {static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32),
                 static_cast<std::uint32_t>(idx), static_cast<std::uint32_t>(idx >> 32)},
                seed_);
            float normals[4];
            box_muller(bits[0], bits[1], normals[0], normals[1]);
            box_muller(bits[2], bits[3], normals[2], normals[3]);
            for (std::uint64_t i = 0; i < kValuesPerCall; ++i) {
                const std::uint64_t index = idx + (call * kValuesPerCall + i) * stride;
                if (index < n) {
                    out[index] = normals[i];
                }
            }
        }
    }
    // torch's philox_cuda_state(increment) rounds the increment up to a multiple of 4.
    const std::uint64_t increment = calls_per_thread * kValuesPerCall;
    offset_ += (increment + 3) / 4 * 4;
}

} // namespace nd::sampling
