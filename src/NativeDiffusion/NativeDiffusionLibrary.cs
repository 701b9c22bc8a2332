using NativeDiffusion.Interop;

namespace NativeDiffusion;

/// <summary>
/// The native engine as a whole: where it is loaded from, its version, how it was built and what this machine offers.
/// </summary>
/// <remarks>
/// The library <c>libnativediffusion.so</c> is loaded on first use, not before. It is looked for, in order: at the
/// path given to <see cref="Configure"/>, else at the path in the <c>ND_NATIVE_LIBRARY</c> environment variable (an
/// explicit path is the only candidate: nothing else is tried when it fails); else in
/// <c>runtimes/&lt;rid&gt;/native/</c> beside <c>NativeDiffusion.dll</c> and in its folder. When it cannot be loaded,
/// <see cref="NativeLibraryNotFoundException"/> lists every path tried and why each failed; a library built for another
/// ABI version is refused with <see cref="IncompatibleNativeLibraryException"/>.
/// </remarks>
public static class NativeDiffusionLibrary
{
    /// <summary>The logger category the library suggests for the engine's own messages.</summary>
    public const string NativeLogCategory = "NativeDiffusion.Native";

    /// <summary>The environment variable that names the native library's path.</summary>
    public const string LibraryPathEnvironmentVariable = NativeLibraryLoader.EnvironmentVariable;

    /// <summary>
    /// Loads the native library from <paramref name="libraryPath"/> (a file, or a folder holding
    /// <c>libnativediffusion.so</c>) instead of searching for it. Call it before anything else of NativeDiffusion;
    /// it takes precedence over <c>ND_NATIVE_LIBRARY</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The library is already loaded from another path.</exception>
    public static void Configure(string libraryPath) => NativeLibraryLoader.Configure(libraryPath);

    /// <summary>
    /// The full path of the native library file actually loaded, or <see langword="null"/> while it has not been loaded
    /// (see <see cref="EnsureLoaded"/>).
    /// </summary>
    public static string? LoadedLibraryPath => NativeLibraryLoader.LoadedPath;

    /// <summary>Loads the native library now rather than on first use, to surface a loading problem early.</summary>
    /// <returns>The path of the file loaded (<see cref="LoadedLibraryPath"/>).</returns>
    /// <exception cref="NativeLibraryNotFoundException">No candidate could be loaded; lists each and why.</exception>
    /// <exception cref="IncompatibleNativeLibraryException">The library was built for another ABI version.</exception>
    public static string EnsureLoaded()
    {
        NativeLibraryLoader.EnsureLoaded();
        return NativeLibraryLoader.LoadedPath!;
    }

    /// <summary>The native library's semantic version, e.g. <c>0.1.0</c>.</summary>
    public static unsafe string Version
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeString.Read(NativeMethods.nd_version());
        }
    }

    /// <summary>The C ABI version of the loaded library (always the one these bindings were generated for).</summary>
    public static uint AbiVersion
    {
        get
        {
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.nd_abi_version();
        }
    }

    /// <summary>How the loaded native library was built: compiler, build type, flags, backends.</summary>
    /// <exception cref="NativeDiffusionException">The engine could not report it.</exception>
    public static unsafe BuildInfo GetBuildInfo()
    {
        NativeLibraryLoader.EnsureLoaded();
        var info = default(NdBuildInfo);
        info.StructSize = (uint)sizeof(NdBuildInfo);
        NativeMethods.nd_get_build_info(&info).ThrowIfFailed("reading the build information");
        return new BuildInfo(
            NativeString.Read(info.Version),
            NativeString.Read(info.Compiler),
            NativeString.Read(info.BuildType),
            NativeString.Read(info.CxxFlags),
            (Backends)info.Backends);
    }

    /// <summary>What this machine has: CPU name and features, cores, memory.</summary>
    /// <exception cref="NativeDiffusionException">The engine could not report it.</exception>
    public static unsafe SystemInfo GetSystemInfo()
    {
        NativeLibraryLoader.EnsureLoaded();
        var info = default(NdSystemInfo);
        info.StructSize = (uint)sizeof(NdSystemInfo);
        NativeMethods.nd_get_system_info(&info).ThrowIfFailed("reading the system information");
        return new SystemInfo(
            NativeString.Read(info.CpuName),
            (CpuFeatures)info.CpuFeatures,
            checked((int)info.PhysicalCores),
            checked((int)info.LogicalCores),
            checked((long)info.TotalMemoryBytes),
            checked((long)info.AvailableMemoryBytes));
    }
}
