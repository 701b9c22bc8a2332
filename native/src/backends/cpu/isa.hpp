// Which instruction-set variant of the CPU kernels to run.
//
// Each fast kernel is compiled in its own file with that file's ISA flags (the suffix says which:
// *_avx2.cpp gets -mavx2 -mfma -mf16c, *_avx512.cpp adds AVX-512 F/BW/VL/VNNI/BF16; see native/CMakeLists.txt)
// and is only called when the running CPU has the features. Every kernel entry point takes an Isa so that
// tests can run each variant against the scalar reference on the same inputs.
#pragma once

#include <cstdint>
#include <string_view>

#include "backends/cpu/cpu_features.hpp"
#include "native_diffusion.h"

namespace nd::backends::cpu {

enum class Isa {
    Scalar,  // plain C++, the reference every other variant is tested against
    Avx2,    // AVX2 + FMA + F16C
    Avx512,  // AVX-512 F/BW/VL (+ VNNI and BF16 paths when avx512_vnni()/avx512_bf16() say so)
    Neon,    // AArch64 Advanced SIMD (kernels to come; dispatch already routes here)
};

inline constexpr std::uint64_t kAvx2Features =
    ND_CPU_FEATURE_FLAGS_AVX | ND_CPU_FEATURE_FLAGS_AVX2 | ND_CPU_FEATURE_FLAGS_FMA | ND_CPU_FEATURE_FLAGS_F16C;
inline constexpr std::uint64_t kAvx512Features =
    kAvx2Features | ND_CPU_FEATURE_FLAGS_AVX512F | ND_CPU_FEATURE_FLAGS_AVX512BW | ND_CPU_FEATURE_FLAGS_AVX512VL;

// Whether a CPU with `features` (nd_cpu_feature_flags) can run `isa`.
constexpr bool isa_supported(Isa isa, std::uint64_t features) noexcept {
    switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return (features & kAvx2Features) == kAvx2Features;
    case Isa::Avx512: return (features & kAvx512Features) == kAvx512Features;
    case Isa::Neon: return (features & ND_CPU_FEATURE_FLAGS_NEON) != 0;
    }
    return false;
}

// The fastest variant this machine runs.
inline Isa best_isa() noexcept {
    const std::uint64_t features = cpu_features();
    for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Neon}) {
        if (isa_supported(isa, features)) {
            return isa;
        }
    }
    return Isa::Scalar;
}

inline bool avx512_vnni() noexcept { return (cpu_features() & ND_CPU_FEATURE_FLAGS_AVX512VNNI) != 0; }
inline bool avx512_bf16() noexcept { return (cpu_features() & ND_CPU_FEATURE_FLAGS_AVX512BF16) != 0; }

constexpr std::string_view isa_name(Isa isa) noexcept {
    switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
    }
    return "?";
}

} // namespace nd::backends::cpu
