namespace NativeDiffusion;

/// <summary>CPU instruction-set features detected at run time (mirrors <c>nd_cpu_feature_flags</c>).</summary>
[Flags]
public enum CpuFeatures : ulong
{
    /// <summary>None of the features below.</summary>
    None = 0,

    /// <summary>SSE 4.2 (x86).</summary>
    Sse4_2 = 1,

    /// <summary>AVX (x86).</summary>
    Avx = 2,

    /// <summary>AVX2 (x86).</summary>
    Avx2 = 4,

    /// <summary>Fused multiply-add, FMA3 (x86).</summary>
    Fma = 8,

    /// <summary>Half-precision conversions, F16C (x86).</summary>
    F16C = 16,

    /// <summary>AVX-512 Foundation (x86).</summary>
    Avx512F = 32,

    /// <summary>AVX-512 byte and word instructions (x86).</summary>
    Avx512BW = 64,

    /// <summary>AVX-512 vector length extensions (x86).</summary>
    Avx512VL = 128,

    /// <summary>AVX-512 vector neural network instructions (x86).</summary>
    Avx512Vnni = 256,

    /// <summary>AVX-512 bfloat16 instructions (x86).</summary>
    Avx512BF16 = 512,

    /// <summary>Advanced SIMD, NEON (Arm).</summary>
    Neon = 1024,
}

/// <summary>What this machine has, as the native library sees it.</summary>
/// <param name="CpuName">The CPU's brand string.</param>
/// <param name="CpuFeatures">Instruction-set features supported by both the CPU and the operating system.</param>
/// <param name="PhysicalCores">Physical CPU cores.</param>
/// <param name="LogicalCores">Logical CPUs (hardware threads).</param>
/// <param name="TotalMemoryBytes">Physical memory in bytes.</param>
/// <param name="AvailableMemoryBytes">Memory available to new allocations, in bytes.</param>
public sealed record SystemInfo(
    string CpuName,
    CpuFeatures CpuFeatures,
    int PhysicalCores,
    int LogicalCores,
    long TotalMemoryBytes,
    long AvailableMemoryBytes);
