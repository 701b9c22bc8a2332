using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>
/// Finds, loads and checks the native library on first use (never in a static constructor), and resolves every
/// <c>[LibraryImport("nativediffusion")]</c> of this assembly to that one file.
/// </summary>
/// <remarks>
/// Where it looks, in order:
/// <list type="number">
/// <item>an explicit path: <see cref="NativeDiffusionLibrary.Configure"/>, else the <c>ND_NATIVE_LIBRARY</c> environment
/// variable. An explicit path is the only candidate: if it cannot be loaded, nothing else is tried.</item>
/// <item><c>runtimes/&lt;rid&gt;/native/libnativediffusion.so</c> beside this assembly, for the runtime's RID and the
/// portable one (<c>linux-x64</c>, <c>linux-arm64</c>...);</item>
/// <item>this assembly's folder; then the same two under the application's base folder if it differs.</item>
/// </list>
/// Every candidate and the reason it failed are recorded; when none loads, <see cref="NativeLibraryNotFoundException"/>
/// lists them all. A library with another ABI version is refused with <see cref="IncompatibleNativeLibraryException"/>
/// (the search stops there: a stale library in the way is an error to fix, not something to skip silently).
/// A failure is not remembered: the next call searches again, so a corrected configuration takes effect.
/// </remarks>
internal static unsafe class NativeLibraryLoader
{
    /// <summary>The environment variable naming an explicit library path.</summary>
    internal const string EnvironmentVariable = "ND_NATIVE_LIBRARY";

    internal const string SourceConfigured = "NativeDiffusionLibrary.Configure";
    internal const string SourceEnvironment = EnvironmentVariable;
    internal const string SourceRuntimes = "runtimes folder beside the assembly";
    internal const string SourceAssemblyFolder = "assembly folder";
    internal const string SourceBaseRuntimes = "runtimes folder under the application base";
    internal const string SourceBaseFolder = "application base folder";

    private static readonly Lock s_lock = new();
    private static LoadedLibrary? s_loaded;
    private static string? s_configuredPath;
    private static bool s_resolverRegistered;

    /// <summary>A library that was loaded and passed the ABI check.</summary>
    internal sealed record LoadedLibrary(nint Handle, string Path, uint AbiVersion);

    /// <summary>A place to look for the library and why.</summary>
    internal readonly record struct Candidate(string Path, string Source);

    /// <summary>The platform's file name of the library: <c>libnativediffusion.so</c> on Linux.</summary>
    internal static string LibraryFileName { get; } =
        OperatingSystem.IsWindows() ? NativeMethods.LibraryName + ".dll"
        : OperatingSystem.IsMacOS() ? "lib" + NativeMethods.LibraryName + ".dylib"
        : "lib" + NativeMethods.LibraryName + ".so";

    /// <summary>The full path of the loaded library, or <see langword="null"/> before the first successful load.</summary>
    internal static string? LoadedPath => Volatile.Read(ref s_loaded)?.Path;

    /// <summary>The path given to <see cref="Configure"/>, if any.</summary>
    internal static string? ConfiguredPath
    {
        get
        {
            lock (s_lock)
            {
                return s_configuredPath;
            }
        }
    }

    /// <summary>
    /// Loads the library if it is not loaded yet, and checks its ABI version. Thread-safe; cheap once loaded.
    /// </summary>
    /// <exception cref="NativeLibraryNotFoundException">No candidate could be loaded.</exception>
    /// <exception cref="IncompatibleNativeLibraryException">The library has another ABI version.</exception>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref s_loaded) is null)
        {
            LoadSlow();
        }
    }

    /// <summary>
    /// Registers the resolver as soon as this assembly is loaded, so that no call into the library, even one made
    /// before <see cref="EnsureLoaded"/>, lets the runtime search for it on its own. Loads nothing: the library is
    /// still loaded on first use.
    /// </summary>
#pragma warning disable CA2255 // ModuleInitializer in a library: it only registers a callback and cannot fail.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver()
    {
        lock (s_lock)
        {
            if (!s_resolverRegistered)
            {
                NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
                s_resolverRegistered = true;
            }
        }
    }

    /// <summary>Sets the explicit library path; allowed until the library is loaded (again afterwards only with the same path).</summary>
    internal static void Configure(string libraryPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(libraryPath);
        var fullPath = Path.GetFullPath(libraryPath);
        lock (s_lock)
        {
            if (s_loaded is { } loaded && !string.Equals(loaded.Path, ResolveDirectory(fullPath), StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"The native library is already loaded from {loaded.Path}; NativeDiffusionLibrary.Configure(\"{fullPath}\") " +
                    "must be called before the first use of NativeDiffusion.");
            }

            s_configuredPath = fullPath;
        }
    }

    /// <summary>
    /// The candidates, in order: the explicit path alone if there is one (<paramref name="configuredPath"/> first, then
    /// <paramref name="environmentPath"/>), else the runtimes folders and the assembly and application folders.
    /// </summary>
    internal static IReadOnlyList<Candidate> GetCandidates(string? configuredPath, string? environmentPath)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            return [new Candidate(ResolveDirectory(Path.GetFullPath(configuredPath)), SourceConfigured)];
        }

        if (!string.IsNullOrWhiteSpace(environmentPath))
        {
            return [new Candidate(ResolveDirectory(Path.GetFullPath(environmentPath)), SourceEnvironment)];
        }

        var candidates = new List<Candidate>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string path, string source)
        {
            var full = Path.GetFullPath(path);
            if (seen.Add(full))
            {
                candidates.Add(new Candidate(full, source));
            }
        }

        var assemblyFolder = GetAssemblyFolder();
        var baseFolder = AppContext.BaseDirectory;
        foreach (var (folder, runtimesSource, folderSource) in new[]
                 {
                     (assemblyFolder, SourceRuntimes, SourceAssemblyFolder),
                     (baseFolder, SourceBaseRuntimes, SourceBaseFolder),
                 })
        {
            if (string.IsNullOrEmpty(folder))
            {
                continue;
            }

            foreach (var rid in GetRuntimeIdentifiers())
            {
                Add(Path.Combine(folder, "runtimes", rid, "native", LibraryFileName), runtimesSource);
            }

            Add(Path.Combine(folder, LibraryFileName), folderSource);
        }

        return candidates;
    }

    /// <summary>The candidates for the current configuration: <see cref="Configure"/>'s path, then the environment.</summary>
    internal static IReadOnlyList<Candidate> GetCandidates() =>
        GetCandidates(ConfiguredPath, Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>
    /// Tries the candidates in order and returns the first that loads and has the right ABI version. Does not
    /// register anything: <see cref="EnsureLoaded"/> does that with the result.
    /// </summary>
    /// <exception cref="NativeLibraryNotFoundException">No candidate could be loaded; lists each and why.</exception>
    /// <exception cref="IncompatibleNativeLibraryException">A candidate loaded but has another ABI version.</exception>
    internal static LoadedLibrary Load(IReadOnlyList<Candidate> candidates)
    {
        var probes = new List<NativeLibraryProbe>(candidates.Count);
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate.Path))
            {
                probes.Add(new NativeLibraryProbe(candidate.Path, candidate.Source,
                    Directory.Exists(Path.GetDirectoryName(candidate.Path)) ? "no such file" : "no such file (its folder does not exist)"));
                continue;
            }

            nint handle;
            try
            {
                handle = NativeLibrary.Load(candidate.Path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                probes.Add(new NativeLibraryProbe(candidate.Path, candidate.Source, "the loader refused it: " + e.Message));
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, "nd_abi_version", out var abiVersionExport))
            {
                NativeLibrary.Free(handle);
                probes.Add(new NativeLibraryProbe(candidate.Path, candidate.Source,
                    "loaded, but it exports no nd_abi_version: not a NativeDiffusion library"));
                continue;
            }

            var abiVersion = ((delegate* unmanaged[Cdecl]<uint>)abiVersionExport)();
            if (abiVersion != NativeMethods.AbiVersion)
            {
                NativeLibrary.Free(handle);
                throw new IncompatibleNativeLibraryException(candidate.Path, NativeMethods.AbiVersion, abiVersion);
            }

            return new LoadedLibrary(handle, candidate.Path, abiVersion);
        }

        throw new NativeLibraryNotFoundException(probes);
    }

    private static LoadedLibrary LoadSlow()
    {
        lock (s_lock)
        {
            if (s_loaded is { } loaded)
            {
                return loaded;
            }

            RegisterResolver();
            loaded = Load(GetCandidates(s_configuredPath, Environment.GetEnvironmentVariable(EnvironmentVariable)));
            Volatile.Write(ref s_loaded, loaded);
            return loaded;
        }
    }

    /// <summary>Resolves this assembly's imports of the library to the one file loaded; never lets the runtime probe on its own.</summary>
    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!string.Equals(libraryName, NativeMethods.LibraryName, StringComparison.Ordinal))
        {
            return nint.Zero;
        }

        return (Volatile.Read(ref s_loaded) ?? LoadSlow()).Handle;
    }

    /// <summary>A folder given as the explicit path means the library file inside it.</summary>
    private static string ResolveDirectory(string fullPath) =>
        Directory.Exists(fullPath) ? Path.Combine(fullPath, LibraryFileName) : fullPath;

    [UnconditionalSuppressMessage("SingleFile", "IL3000:Avoid accessing Assembly file path when publishing as a single file",
        Justification = "Location is empty in single-file and AOT apps; the application base folder is searched as well.")]
    private static string GetAssemblyFolder()
    {
        var location = typeof(NativeLibraryLoader).Assembly.Location;
        return string.IsNullOrEmpty(location) ? string.Empty : Path.GetDirectoryName(location) ?? string.Empty;
    }

    /// <summary>The runtime's RID, then the portable one for this OS and architecture (e.g. <c>linux-x64</c>).</summary>
    private static IEnumerable<string> GetRuntimeIdentifiers()
    {
        var rid = RuntimeInformation.RuntimeIdentifier;
        yield return rid;

        var os = OperatingSystem.IsWindows() ? "win"
            : OperatingSystem.IsMacOS() ? "osx"
            : OperatingSystem.IsFreeBSD() ? "freebsd"
            : IsMusl() ? "linux-musl"
            : "linux";
        var portable = $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        if (!string.Equals(portable, rid, StringComparison.Ordinal))
        {
            yield return portable;
        }
    }

    private static bool IsMusl() =>
        OperatingSystem.IsLinux() && RuntimeInformation.RuntimeIdentifier.StartsWith("linux-musl", StringComparison.Ordinal);
}
