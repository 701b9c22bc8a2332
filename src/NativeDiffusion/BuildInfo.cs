namespace NativeDiffusion;

/// <summary>Compute backends compiled into the native library (mirrors <c>nd_backend_flags</c>).</summary>
[Flags]
public enum Backends
{
    /// <summary>No backend.</summary>
    None = 0,

    /// <summary>The CPU backend (always present).</summary>
    Cpu = 1,

    /// <summary>The Vulkan backend.</summary>
    Vulkan = 2,

    /// <summary>The CUDA backend.</summary>
    Cuda = 4,
}

/// <summary>How the loaded native library was built.</summary>
/// <param name="Version">The library's semantic version, e.g. <c>0.1.0</c>.</param>
/// <param name="Compiler">The C++ compiler and its version, e.g. <c>GNU 12.2.0</c>.</param>
/// <param name="BuildType">The CMake build type, e.g. <c>Release</c>.</param>
/// <param name="CxxFlags">The C++ flags the library was compiled with.</param>
/// <param name="Backends">The compute backends compiled in.</param>
public sealed record BuildInfo(string Version, string Compiler, string BuildType, string CxxFlags, Backends Backends);
