// Run-time detection of the instruction sets the CPU kernels may use.
//
// The library is built for the baseline ISA (no -march=native) so that one binary runs everywhere; kernels
// pick their fastest variant from these flags. A feature counts only if both the CPU has it and the OS
// saves the registers it uses across context switches.
#pragma once

#include <cstdint>

namespace nd::backends::cpu {

// nd_cpu_feature_flags of this machine. Detected on the first call, then cached. Thread-safe.
std::uint64_t cpu_features() noexcept;

// The CPUID/XGETBV words the x86 decision depends on; separate so that tests can feed made-up values.
struct X86CpuidWords {
    std::uint32_t leaf1_ecx = 0;
    std::uint32_t leaf7_ebx = 0;   // leaf 7, subleaf 0 (0 when leaf 7 does not exist)
    std::uint32_t leaf7_ecx = 0;   // leaf 7, subleaf 0
    std::uint32_t leaf7_1_eax = 0; // leaf 7, subleaf 1 (0 when that subleaf does not exist)
    std::uint64_t xcr0 = 0;        // XGETBV(0); only meaningful when leaf1_ecx has OSXSAVE
};

// nd_cpu_feature_flags from raw CPUID words.
std::uint64_t decode_x86_features(const X86CpuidWords& words) noexcept;

} // namespace nd::backends::cpu
