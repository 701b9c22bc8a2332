using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using NativeDiffusion.BindingsGenerator;

namespace NativeDiffusion.Build;

/// <summary>The build's targets. Each one states what it depends on; running one runs those first.</summary>
internal sealed partial class Targets
{
    private const string PackagesFolder = "artifacts/packages";
    private const string PackagedNativeLibrary = "runtimes/linux-x64/native/libnativediffusion.so";
    private const string RuntimePackage = "NativeDiffusion.Runtime.Cpu";

    /// <summary>The packages, by id; each is the project src/ID/ID.csproj.</summary>
    private static readonly string[] PackageIds = ["NativeDiffusion", RuntimePackage, "NativeDiffusion.Hosting"];

    private readonly string _root;
    private readonly Options _options;
    private readonly ProcessRunner _run;

    public Targets(string root, Options options)
    {
        _root = root;
        _options = options;
        _run = new ProcessRunner(root);

        Clean = new("Clean", "Removes artifacts/ and the bin/ and obj/ folders of the solution's projects", [], RunClean);
        Native = new("Native", "Configures and builds the native library with CMake (--preset, default release)", [], RunNative);
        Bindings = new("Bindings", "Regenerates NativeMethods.g.cs and struct_layout.g.inc from the header (--check verifies)",
                       [], RunBindings);
        Compile = new("Compile", "Builds the .NET solution in Release", [Native], RunCompile);
        Test = new("Test", "Runs the native tests (ctest) and the .NET tests", [Compile], RunTest);
        Bench = new("Bench", "Runs the native benchmarks (Google Benchmark) and writes JSON to artifacts/bench/ (--filter)",
                    [Native], RunBench);
        Pack = new("Pack", $"Packs {string.Join(", ", PackageIds)} into {PackagesFolder} and checks what each holds", [Compile],
                   RunPack);
    }

    public Target Clean { get; }
    public Target Native { get; }
    public Target Bindings { get; }
    public Target Compile { get; }
    public Target Test { get; }
    public Target Pack { get; }
    public Target Bench { get; }

    public IReadOnlyList<Target> All => [Clean, Native, Bindings, Compile, Test, Bench, Pack];

    public Target Default => Compile;

    private void RunClean()
    {
        Delete(Path.Combine(_root, "artifacts"));
        // The build project's own bin/obj stay: it is the program running this.
        var projectFolders = DotnetProjects()
            .Select(p => Path.GetDirectoryName(Path.Combine(_root, p))!)
            .Append(Path.Combine(_root, "build", "BindingsGenerator"));
        foreach (var project in projectFolders)
        {
            Delete(Path.Combine(project, "bin"));
            Delete(Path.Combine(project, "obj"));
        }

        static void Delete(string directory)
        {
            if (Directory.Exists(directory))
            {
                Console.WriteLine($"deleting {directory}");
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private void RunNative()
    {
        _run.RunOrFail("cmake", "--preset", _options.Preset);
        _run.RunOrFail("cmake", "--build", "--preset", _options.Preset, "-j", Environment.ProcessorCount.ToString());
    }

    private void RunBindings()
    {
        GeneratedBindings bindings;
        try
        {
            bindings = Generator.GenerateForRepository(_root);
        }
        catch (BindingsGenerationException e)
        {
            throw new BuildFailedException(e.Message);
        }

        if (_options.Check)
        {
            var differences = Generator.Check(_root, bindings);
            foreach (var difference in differences)
            {
                Console.Error.WriteLine($"  {difference.RelativePath}: {difference.Summary}");
            }
            if (differences.Count > 0)
            {
                throw new BuildFailedException(
                    $"{differences.Count} generated file(s) are out of date; run ./build.sh Bindings and commit them");
            }
            Console.WriteLine("The committed bindings match the header.");
            return;
        }

        var changed = Generator.Write(_root, bindings);
        foreach (var (path, _) in Generator.Files(bindings))
        {
            Console.WriteLine($"  {path}: {(changed.Contains(path) ? "written" : "unchanged")}");
        }
    }

    private void RunCompile()
    {
        if (SolutionFile() is { } solution)
        {
            _run.RunOrFail("dotnet", ["build", solution, "-c", "Release", .. NativeLibraryProperties()]);
            return;
        }
        Console.WriteLine("No NativeDiffusion.sln yet: building the projects under src/ and tests/ one by one.");
        foreach (var project in DotnetProjects())
        {
            _run.RunOrFail("dotnet", ["build", project, "-c", "Release", .. NativeLibraryProperties()]);
        }
    }

    /// <summary>
    /// The Native target has built the library already: src/NativeDiffusion/NativeDiffusion.Native.targets
    /// is told to take it from that preset's folder instead of running CMake again.
    /// </summary>
    private string[] NativeLibraryProperties() => [$"-p:NdNativePreset={_options.Preset}", "-p:NdSkipNativeBuild=true"];

    private void RunTest()
    {
        var failures = new List<string>();
        // Presets without a test preset of their own (vulkan, cuda) are tested from their build folder.
        string[] ctestTarget = HasTestPreset(_options.Preset)
            ? ["--preset", _options.Preset]
            : ["--test-dir", $"artifacts/cmake/{_options.Preset}"];
        if (_run.Run("ctest", [.. ctestTarget, "--output-on-failure"]) is var ctest and not 0)
        {
            failures.Add($"ctest exited with code {ctest}");
        }

        var testProjects = SolutionFile() is { } solution ? [solution] : DotnetProjects().Where(p => p.StartsWith("tests/"));
        foreach (var project in testProjects)
        {
            if (_run.Run("dotnet", "test", project, "-c", "Release", "--no-build") is var dotnet and not 0)
            {
                failures.Add($"dotnet test {project} exited with code {dotnet}");
            }
        }

        if (failures.Count > 0)
        {
            throw new BuildFailedException(string.Join("; ", failures));
        }
    }

    private void RunBench()
    {
        var binary = Path.Combine(_root, "artifacts", "cmake", _options.Preset, "native", "bench", "nd_bench");
        if (!File.Exists(binary))
        {
            throw new BuildFailedException(
                $"{binary} was not built: the benchmarks need Google Benchmark (Debian: libbenchmark-dev)");
        }

        var output = Path.Combine(_root, "artifacts", "bench");
        Directory.CreateDirectory(output);
        var json = Path.Combine(output, $"nd_bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        string[] filter = _options.Filter is { } f ? [$"--benchmark_filter={f}"] : [];
        // Repetitions with the median reported: the machines this runs on are shared, and one run lies.
        _run.RunOrFail(binary, [.. filter, "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true",
                                $"--benchmark_out={json}", "--benchmark_out_format=json"]);
        Console.WriteLine($"results: {Path.GetRelativePath(_root, json)}");
    }

    private void RunPack()
    {
        var output = Path.Combine(_root, PackagesFolder);
        if (Directory.Exists(output))
        {
            foreach (var old in Directory.EnumerateFiles(output, "*.*nupkg"))
            {
                File.Delete(old); // so that only what this run produced is checked
            }
        }

        foreach (var id in PackageIds)
        {
            // Compile has built everything in Release: pack what it built.
            _run.RunOrFail("dotnet", ["pack", $"src/{id}/{id}.csproj", "-c", "Release", "--no-build", "-o", PackagesFolder, .. NativeLibraryProperties()]);
        }

        foreach (var id in PackageIds)
        {
            var package = Directory.EnumerateFiles(output, $"{id}.*.nupkg").SingleOrDefault(p => PackageName(id).IsMatch(Path.GetFileName(p)))
                          ?? throw new BuildFailedException($"dotnet pack produced no {id} package in {PackagesFolder}");
            using var archive = ZipFile.OpenRead(package);
            var entries = archive.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            string[] expected = id == RuntimePackage
                ? [PackagedNativeLibrary, "README.md"]
                : [$"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml", "README.md"];
            foreach (var entry in expected.Where(e => !entries.Contains(e)))
            {
                throw new BuildFailedException($"{Path.GetFileName(package)} does not contain {entry}");
            }

            if (id != RuntimePackage && entries.Any(e => e.EndsWith(".so", StringComparison.Ordinal)))
            {
                throw new BuildFailedException($"{Path.GetFileName(package)} carries a native library: it belongs in {RuntimePackage}");
            }

            Console.WriteLine($"{Path.GetFileName(package)}: {string.Join(", ", expected)}");
        }

        var managed = Directory.EnumerateFiles(output, "NativeDiffusion.*.nupkg").Single(p => PackageName("NativeDiffusion").IsMatch(Path.GetFileName(p)));
        using (var archive = ZipFile.OpenRead(managed))
        {
            using var nuspec = new StreamReader(archive.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            if (!nuspec.ReadToEnd().Contains($"<dependency id=\"{RuntimePackage}\"", StringComparison.Ordinal))
            {
                throw new BuildFailedException($"{Path.GetFileName(managed)} does not depend on {RuntimePackage}");
            }
        }

        Console.WriteLine($"NativeDiffusion depends on {RuntimePackage}");

        static Regex PackageName(string id) => new($@"^{Regex.Escape(id)}\.\d+\.\d+\.\d+[^/]*(?<!\.symbols)\.nupkg$");
    }

    private bool HasTestPreset(string preset)
    {
        using var presets = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "CMakePresets.json")));
        return presets.RootElement.TryGetProperty("testPresets", out var testPresets)
               && testPresets.EnumerateArray().Any(p => p.GetProperty("name").GetString() == preset);
    }

    /// <summary>NativeDiffusion.sln (or .slnx) at the root, as a relative path; null while it does not exist.</summary>
    private string? SolutionFile() =>
        new[] { "NativeDiffusion.sln", "NativeDiffusion.slnx" }.FirstOrDefault(f => File.Exists(Path.Combine(_root, f)));

    /// <summary>The .NET projects under src/ and tests/ (the build project itself is never among them).</summary>
    private IEnumerable<string> DotnetProjects() =>
        new[] { "src", "tests" }
            .Select(folder => Path.Combine(_root, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.csproj", SearchOption.AllDirectories))
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(path => Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);
}
