using System.Diagnostics;
using System.Runtime.InteropServices;
using NativeDiffusion.Interop;

namespace NativeDiffusion.Tests;

public sealed class NativeLibraryLoaderTests
{
    private static string LibraryFileName => NativeLibraryLoader.LibraryFileName;

    [Fact]
    public void Explicit_missing_path_is_the_only_candidate_and_the_exception_says_why()
    {
        using var temp = new TempFolder();
        var missing = temp.File(LibraryFileName);

        var candidates = NativeLibraryLoader.GetCandidates(configuredPath: missing, environmentPath: "/elsewhere/libnativediffusion.so");

        var candidate = Assert.Single(candidates);
        Assert.Equal(missing, candidate.Path);
        Assert.Equal(NativeLibraryLoader.SourceConfigured, candidate.Source);

        var e = Assert.Throws<NativeLibraryNotFoundException>(() => NativeLibraryLoader.Load(candidates));
        var probe = Assert.Single(e.Probes);
        Assert.Equal(missing, probe.Path);
        Assert.Contains("no such file", probe.Error, StringComparison.Ordinal);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);
        Assert.Contains("ND_NATIVE_LIBRARY", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_failed_candidate_is_listed_with_its_own_reason()
    {
        using var temp = new TempFolder();
        var missing = temp.File("missing/" + LibraryFileName);
        var notALibrary = temp.File(LibraryFileName);
        File.WriteAllText(notALibrary, "this is text, not an ELF shared object");
        // A real shared library that is not ours: the runtime's own System.Native.
        var otherLibrary = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so");
        Assert.True(File.Exists(otherLibrary), $"expected the runtime's {otherLibrary}");

        var e = Assert.Throws<NativeLibraryNotFoundException>(() => NativeLibraryLoader.Load(
        [
            new NativeLibraryLoader.Candidate(missing, "first"),
            new NativeLibraryLoader.Candidate(notALibrary, "second"),
            new NativeLibraryLoader.Candidate(otherLibrary, "third"),
        ]));

        Assert.Collection(
            e.Probes,
            p =>
            {
                Assert.Equal((missing, "first"), (p.Path, p.Source));
                Assert.Contains("no such file", p.Error, StringComparison.Ordinal);
            },
            p =>
            {
                Assert.Equal((notALibrary, "second"), (p.Path, p.Source));
                Assert.Contains("the loader refused it", p.Error, StringComparison.Ordinal);
            },
            p =>
            {
                Assert.Equal((otherLibrary, "third"), (p.Path, p.Source));
                Assert.Contains("not a NativeDiffusion library", p.Error, StringComparison.Ordinal);
            });
        foreach (var path in new[] { missing, notALibrary, otherLibrary })
        {
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Default_search_looks_in_the_runtimes_folder_then_beside_the_assembly()
    {
        var candidates = NativeLibraryLoader.GetCandidates(configuredPath: null, environmentPath: null);

        var assemblyFolder = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location)!;
        var portableRid = $"linux-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var runtimes = Path.Combine(assemblyFolder, "runtimes", portableRid, "native", LibraryFileName);
        var beside = Path.Combine(assemblyFolder, LibraryFileName);
        var paths = candidates.Select(c => c.Path).ToList();
        Assert.Contains(runtimes, paths);
        Assert.Contains(beside, paths);
        Assert.True(paths.IndexOf(runtimes) < paths.IndexOf(beside), string.Join("\n", paths));
        Assert.Equal(paths.Count, paths.Distinct().Count());
    }

    [Fact]
    public void Environment_variable_is_the_only_candidate_unless_a_path_is_configured()
    {
        var fromEnvironment = Assert.Single(NativeLibraryLoader.GetCandidates(null, "/opt/nd/libnativediffusion.so"));
        Assert.Equal(("/opt/nd/libnativediffusion.so", NativeLibraryLoader.SourceEnvironment), (fromEnvironment.Path, fromEnvironment.Source));

        var configured = Assert.Single(NativeLibraryLoader.GetCandidates("/etc/nd/libnativediffusion.so", "/opt/nd/libnativediffusion.so"));
        Assert.Equal(NativeLibraryLoader.SourceConfigured, configured.Source);
    }

    [Fact]
    public void A_folder_as_the_explicit_path_means_the_library_inside_it()
    {
        using var temp = new TempFolder();
        var candidate = Assert.Single(NativeLibraryLoader.GetCandidates(temp.Path, null));
        Assert.Equal(temp.File(LibraryFileName), candidate.Path);
    }

    [Fact]
    public void Environment_variable_is_honoured()
    {
        var loadedPath = NativeDiffusionLibrary.EnsureLoaded();
        var previous = Environment.GetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable, loadedPath);
            var candidate = Assert.Single(NativeLibraryLoader.GetCandidates());
            Assert.Equal((loadedPath, NativeLibraryLoader.SourceEnvironment), (candidate.Path, candidate.Source));

            var loaded = NativeLibraryLoader.Load([candidate]);
            Assert.Equal(loadedPath, loaded.Path);
            Assert.Equal(NativeMethods.AbiVersion, loaded.AbiVersion);
            NativeLibrary.Free(loaded.Handle);
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable, previous);
        }
    }

    [Fact]
    public void Loaded_library_path_points_at_the_real_file()
    {
        var returned = NativeDiffusionLibrary.EnsureLoaded();

        var path = NativeDiffusionLibrary.LoadedLibraryPath;
        Assert.Equal(returned, path);
        Assert.True(File.Exists(path), path);
        Assert.Equal(LibraryFileName, Path.GetFileName(path));
        var fromEnvironment = Environment.GetEnvironmentVariable(NativeLibraryLoader.EnvironmentVariable);
        var expected = string.IsNullOrEmpty(fromEnvironment)
            ? Path.Combine(Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location)!, LibraryFileName)
            : Path.GetFullPath(fromEnvironment);
        Assert.Equal(expected, path);
    }

    [Fact]
    public void Configure_after_loading_from_another_path_is_refused()
    {
        var loadedPath = NativeDiffusionLibrary.EnsureLoaded();
        using var temp = new TempFolder();

        var e = Assert.Throws<InvalidOperationException>(() => NativeDiffusionLibrary.Configure(temp.File(LibraryFileName)));
        Assert.Contains(loadedPath, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Library_with_another_abi_version_is_refused_naming_both_versions_and_the_path()
    {
        using var temp = new TempFolder();
        var source = temp.File("wrong_abi.c");
        var library = temp.File(LibraryFileName);
        File.WriteAllText(source, "unsigned int nd_abi_version(void) { return 4242u; }\n");
        CompileSharedLibrary(source, library);

        var e = Assert.Throws<IncompatibleNativeLibraryException>(
            () => NativeLibraryLoader.Load([new NativeLibraryLoader.Candidate(library, "test")]));

        Assert.Equal(library, e.LibraryPath);
        Assert.Equal(4242u, e.ActualAbiVersion);
        Assert.Equal(NativeMethods.AbiVersion, e.ExpectedAbiVersion);
        Assert.Contains("4242", e.Message, StringComparison.Ordinal);
        Assert.Contains($"ABI version {NativeMethods.AbiVersion}", e.Message, StringComparison.Ordinal);
        Assert.Contains(library, e.Message, StringComparison.Ordinal);
    }

    private static void CompileSharedLibrary(string source, string output)
    {
        var compiler = Environment.GetEnvironmentVariable("CC") is { Length: > 0 } cc ? cc : "cc";
        var start = new ProcessStartInfo(compiler)
        {
            ArgumentList = { "-shared", "-fPIC", "-o", output, source },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {compiler}");
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{compiler} failed to build the test library: {errors}");
    }
}
