#include "backends/cpu/cpu_features.hpp"

#include "native_diffusion.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace nd::backends::cpu {

namespace {

constexpr bool has_bit(std::uint64_t word, unsigned bit) noexcept {
    return ((word >> bit) & 1U) != 0;
}

// Bit positions from the Intel SDM (vol. 2A, CPUID) and the AMD APM (vol. 3), which agree on these.
namespace leaf1_ecx {
constexpr unsigned fma = 12, sse4_2 = 20, osxsave = 27, avx = 28, f16c = 29;
}
namespace leaf7_ebx {
constexpr unsigned avx2 = 5, avx512f = 16, avx512bw = 30, avx512vl = 31;
}
namespace leaf7_ecx {
constexpr unsigned avx512_vnni = 11;
}
namespace leaf7_1_eax {
constexpr unsigned avx512_bf16 = 5;
}

// XCR0 state components the OS must enable before the matching registers may be touched.
constexpr std::uint64_t kXcr0Sse = 1U << 1, kXcr0Ymm = 1U << 2;
constexpr std::uint64_t kXcr0Opmask = 1U << 5, kXcr0ZmmHigh256 = 1U << 6, kXcr0HighZmm = 1U << 7;

#if defined(__x86_64__) || defined(__i386__)

std::uint64_t read_xcr0() noexcept {
    // Inline asm rather than _xgetbv(): the intrinsic needs -mxsave, which the portable build must not use.
    std::uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

std::uint64_t detect() noexcept {
    X86CpuidWords words;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf >= 1 && __get_cpuid_count(1, 0, &eax, &ebx, &ecx, &edx)) {
        words.leaf1_ecx = ecx;
    }
    if (max_leaf >= 7 && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        words.leaf7_ebx = ebx;
        words.leaf7_ecx = ecx;
        const unsigned max_subleaf = eax;
        if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
            words.leaf7_1_eax = eax;
        }
    }
    // XGETBV faults unless the OS has set CR4.OSXSAVE, which CPUID reports as OSXSAVE.
    if (has_bit(words.leaf1_ecx, leaf1_ecx::osxsave)) {
        words.xcr0 = read_xcr0();
    }
    return decode_x86_features(words);
}

#elif defined(__aarch64__)

std::uint64_t detect() noexcept {
    return ND_CPU_FEATURE_FLAGS_NEON;
} // Advanced SIMD is mandatory on AArch64

#else

std::uint64_t detect() noexcept {
    return 0;
}

#endif

} // namespace

std::uint64_t decode_x86_features(const X86CpuidWords& words) noexcept {
    const bool os_saves_ymm = has_bit(words.leaf1_ecx, leaf1_ecx::osxsave) &&
                              (words.xcr0 & (kXcr0Sse | kXcr0Ymm)) == (kXcr0Sse | kXcr0Ymm);
    constexpr std::uint64_t zmm_state = kXcr0Opmask | kXcr0ZmmHigh256 | kXcr0HighZmm;
    const bool os_saves_zmm = os_saves_ymm && (words.xcr0 & zmm_state) == zmm_state;

    std::uint64_t flags = 0;
    const auto set_if = [&flags](bool present, nd_cpu_feature_flags flag) {
        if (present) {
            flags |= flag;
        }
    };
    set_if(has_bit(words.leaf1_ecx, leaf1_ecx::sse4_2), ND_CPU_FEATURE_FLAGS_SSE4_2);
    // FMA and F16C are VEX-encoded and work on YMM registers, so they need the same OS support as AVX.
    set_if(os_saves_ymm && has_bit(words.leaf1_ecx, leaf1_ecx::avx), ND_CPU_FEATURE_FLAGS_AVX);
    set_if(os_saves_ymm && has_bit(words.leaf1_ecx, leaf1_ecx::fma), ND_CPU_FEATURE_FLAGS_FMA);
    set_if(os_saves_ymm && has_bit(words.leaf1_ecx, leaf1_ecx::f16c), ND_CPU_FEATURE_FLAGS_F16C);
    set_if(os_saves_ymm && has_bit(words.leaf7_ebx, leaf7_ebx::avx2), ND_CPU_FEATURE_FLAGS_AVX2);
    set_if(os_saves_zmm && has_bit(words.leaf7_ebx, leaf7_ebx::avx512f), ND_CPU_FEATURE_FLAGS_AVX512F);
    set_if(os_saves_zmm && has_bit(words.leaf7_ebx, leaf7_ebx::avx512bw), ND_CPU_FEATURE_FLAGS_AVX512BW);
    set_if(os_saves_zmm && has_bit(words.leaf7_ebx, leaf7_ebx::avx512vl), ND_CPU_FEATURE_FLAGS_AVX512VL);
    set_if(os_saves_zmm && has_bit(words.leaf7_ecx, leaf7_ecx::avx512_vnni), ND_CPU_FEATURE_FLAGS_AVX512VNNI);
    set_if(os_saves_zmm && has_bit(words.leaf7_1_eax, leaf7_1_eax::avx512_bf16),
           ND_CPU_FEATURE_FLAGS_AVX512BF16);
    return flags;
}

std::uint64_t cpu_features() noexcept {
    static const std::uint64_t features = detect();
    return features;
}

} // namespace nd::backends::cpu
