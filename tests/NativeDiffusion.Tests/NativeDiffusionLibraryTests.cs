using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using NativeDiffusion.Interop;

namespace NativeDiffusion.Tests;

public sealed class NativeDiffusionLibraryTests
{
    [Fact]
    public void Abi_version_of_the_library_equals_the_bindings()
    {
        Assert.Equal(NativeMethods.AbiVersion, NativeDiffusionLibrary.AbiVersion);
        Assert.Equal(NativeMethods.AbiVersion, NativeMethods.nd_abi_version());
    }

    [Fact]
    public void Version_is_semantic_and_matches_the_build_info()
    {
        var version = NativeDiffusionLibrary.Version;

        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+"), version);
        Assert.Equal(version, NativeDiffusionLibrary.GetBuildInfo().Version);
    }

    [Fact]
    public void Build_info_names_the_compiler_and_build_type_and_has_the_cpu_backend()
    {
        var build = NativeDiffusionLibrary.GetBuildInfo();

        Assert.False(string.IsNullOrWhiteSpace(build.Compiler));
        Assert.False(string.IsNullOrWhiteSpace(build.BuildType));
        Assert.NotNull(build.CxxFlags);
        Assert.True(build.Backends.HasFlag(Backends.Cpu), $"backends: {build.Backends}");
    }

    [Fact]
    public void System_info_reports_plausible_cores_and_memory()
    {
        var system = NativeDiffusionLibrary.GetSystemInfo();

        Assert.False(string.IsNullOrWhiteSpace(system.CpuName));
        Assert.InRange(system.PhysicalCores, 1, 4096);
        Assert.InRange(system.LogicalCores, system.PhysicalCores, 8192);
        Assert.True(system.TotalMemoryBytes > 64L << 20, $"total memory {system.TotalMemoryBytes}");
        Assert.InRange(system.AvailableMemoryBytes, 1, system.TotalMemoryBytes);
    }

    [Fact]
    public void Cpu_features_include_every_feature_the_dotnet_runtime_detects()
    {
        var features = NativeDiffusionLibrary.GetSystemInfo().CpuFeatures;

        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            Assert.Equal(0UL, (ulong)(features & CpuFeatures.Neon));
            AssertImplies(Sse42.IsSupported, CpuFeatures.Sse4_2);
            AssertImplies(Avx.IsSupported, CpuFeatures.Avx);
            AssertImplies(Avx2.IsSupported, CpuFeatures.Avx2);
            AssertImplies(Fma.IsSupported, CpuFeatures.Fma);
            AssertImplies(Avx512F.IsSupported, CpuFeatures.Avx512F);
            AssertImplies(Avx512BW.IsSupported, CpuFeatures.Avx512BW);
        }
        else if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            AssertImplies(AdvSimd.IsSupported, CpuFeatures.Neon);
        }

        void AssertImplies(bool dotnetSupports, CpuFeatures feature) =>
            Assert.True(!dotnetSupports || features.HasFlag(feature), $".NET detects {feature} but the engine reports {features}");
    }

    [Fact]
    public void Library_is_loaded_before_any_public_call_returns()
    {
        _ = NativeDiffusionLibrary.GetSystemInfo();
        Assert.NotNull(NativeDiffusionLibrary.LoadedLibraryPath);
    }
}
