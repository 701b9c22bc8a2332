#include "backends/cpu/cpu_features.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "native_diffusion.h"

namespace nd::backends::cpu {
namespace {

constexpr std::uint32_t bit(unsigned n) {
    return 1u << n;
}

// CPUID words of a CPU with everything we detect, and an OS that saves x87/SSE/AVX/AVX-512 state.
X86CpuidWords everything() {
    X86CpuidWords words;
    words.leaf1_ecx = bit(12) | bit(20) | bit(27) | bit(28) | bit(29);
    words.leaf7_ebx = bit(5) | bit(16) | bit(30) | bit(31);
    words.leaf7_ecx = bit(11);
    words.leaf7_1_eax = bit(5);
    words.xcr0 = 0xE7;
    return words;
}

constexpr std::uint64_t kAvxFamily = ND_CPU_FEATURE_FLAGS_AVX | ND_CPU_FEATURE_FLAGS_AVX2 |
                                     ND_CPU_FEATURE_FLAGS_FMA | ND_CPU_FEATURE_FLAGS_F16C;
constexpr std::uint64_t kAvx512Family = ND_CPU_FEATURE_FLAGS_AVX512F | ND_CPU_FEATURE_FLAGS_AVX512BW |
                                        ND_CPU_FEATURE_FLAGS_AVX512VL | ND_CPU_FEATURE_FLAGS_AVX512VNNI |
                                        ND_CPU_FEATURE_FLAGS_AVX512BF16;

TEST(CpuFeatures, All_bits_with_full_os_support_give_every_x86_flag) {
    EXPECT_EQ(decode_x86_features(everything()), ND_CPU_FEATURE_FLAGS_SSE4_2 | kAvxFamily | kAvx512Family);
}

TEST(CpuFeatures, Avx_needs_the_os_to_enable_xsave) {
    X86CpuidWords words = everything();
    words.leaf1_ecx &= ~bit(27); // no OSXSAVE: XCR0 cannot even be read
    EXPECT_EQ(decode_x86_features(words), static_cast<std::uint64_t>(ND_CPU_FEATURE_FLAGS_SSE4_2));
}

TEST(CpuFeatures, Avx_needs_the_os_to_save_ymm_state) {
    X86CpuidWords words = everything();
    words.xcr0 = 0x3; // x87 and SSE only
    EXPECT_EQ(decode_x86_features(words), static_cast<std::uint64_t>(ND_CPU_FEATURE_FLAGS_SSE4_2));
}

TEST(CpuFeatures, Avx512_needs_the_os_to_save_zmm_and_mask_state) {
    X86CpuidWords words = everything();
    words.xcr0 = 0x7; // YMM but no opmask/ZMM: a kernel booted with AVX-512 disabled
    EXPECT_EQ(decode_x86_features(words), ND_CPU_FEATURE_FLAGS_SSE4_2 | kAvxFamily);
    words.xcr0 = 0x67; // one ZMM component missing
    EXPECT_EQ(decode_x86_features(words), ND_CPU_FEATURE_FLAGS_SSE4_2 | kAvxFamily);
}

TEST(CpuFeatures, Detection_is_cached_and_consistent) {
    const std::uint64_t features = cpu_features();
    EXPECT_EQ(cpu_features(), features);
    if (features & ND_CPU_FEATURE_FLAGS_AVX2) {
        EXPECT_TRUE(features & ND_CPU_FEATURE_FLAGS_AVX);
    }
    if (features & kAvx512Family) {
        EXPECT_TRUE(features & ND_CPU_FEATURE_FLAGS_AVX512F);
    }
#if defined(__aarch64__)
    EXPECT_EQ(features, static_cast<std::uint64_t>(ND_CPU_FEATURE_FLAGS_NEON));
#else
    EXPECT_FALSE(features & ND_CPU_FEATURE_FLAGS_NEON);
#endif
}

#if defined(__linux__) && (defined(__x86_64__) || defined(__i386__))
// The kernel prints the same CPUID bits, already cleared where it does not save the state.
TEST(CpuFeatures, Detection_agrees_with_proc_cpuinfo_flags) {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    std::set<std::string> flags;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("flags", 0) == 0) {
            std::istringstream words(line.substr(line.find(':') + 1));
            for (std::string word; words >> word;) {
                flags.insert(word);
            }
            break;
        }
    }
    if (flags.empty()) {
        GTEST_SKIP() << "/proc/cpuinfo has no flags line here";
    }
    const std::pair<const char*, std::uint64_t> names[] = {
        {"sse4_2", ND_CPU_FEATURE_FLAGS_SSE4_2},
        {"avx", ND_CPU_FEATURE_FLAGS_AVX},
        {"avx2", ND_CPU_FEATURE_FLAGS_AVX2},
        {"fma", ND_CPU_FEATURE_FLAGS_FMA},
        {"f16c", ND_CPU_FEATURE_FLAGS_F16C},
        {"avx512f", ND_CPU_FEATURE_FLAGS_AVX512F},
        {"avx512bw", ND_CPU_FEATURE_FLAGS_AVX512BW},
        {"avx512vl", ND_CPU_FEATURE_FLAGS_AVX512VL},
        {"avx512_vnni", ND_CPU_FEATURE_FLAGS_AVX512VNNI},
        {"avx512_bf16", ND_CPU_FEATURE_FLAGS_AVX512BF16},
    };
    const std::uint64_t features = cpu_features();
    for (const auto& [name, flag] : names) {
        EXPECT_EQ(flags.count(name) == 1, (features & flag) != 0) << "flag " << name;
    }
}
#endif

} // namespace
} // namespace nd::backends::cpu
