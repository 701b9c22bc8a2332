// torch.Generator('cpu') and torch.randn on it, reproduced bit for bit.
//
// The engine is MT19937 seeded with the low 32 bits of the seed. torch.randn then takes one of two paths:
//  - fewer than 16 values: Box-Muller in double precision on 53-bit uniforms (two 32-bit draws each),
//    returning r*cos and keeping r*sin for the next value (the cache lives in the generator, as in torch);
//  - 16 or more values: one 24-bit float uniform per value, then Box-Muller over blocks of 16 (the first 8
//    are the radii' uniforms, the last 8 the angles'); a tail that is not a multiple of 16 redraws 16 fresh
//    uniforms and recomputes the last 16 values. The block transform is torch's AVX2 kernel (Cephes-style
//    log and sincos polynomials whose multiply-adds the compiler fused), which is what x86 builds run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "sampling/noise_generator.hpp"

namespace nd::sampling {

class TorchCpuGenerator final : public NoiseGenerator {
public:
    explicit TorchCpuGenerator(std::uint64_t seed);

    void fill_randn(std::span<float> out) override;
    [[nodiscard]] std::unique_ptr<NoiseGenerator> clone() const override;

    // The raw stream, for tests: one 32-bit engine output.
    std::uint32_t next_u32() { return static_cast<std::uint32_t>(engine_()); }

private:
    void fill_scalar_path(std::span<float> out);
    void fill_block_path(std::span<float> out);
    float uniform_float();   // 24 random bits in [0, 1)
    double uniform_double(); // 53 random bits in [0, 1)

    std::mt19937 engine_;
    std::optional<double> next_double_normal_;
};

namespace detail {
// The block transform of torch's vectorised normal fill on 16 uniforms in place; exposed for tests.
void torch_normal_fill_16(float* values);
} // namespace detail

} // namespace nd::sampling
