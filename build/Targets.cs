using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using NativeDiffusion.BindingsGenerator;

namespace NativeDiffusion.Build;

/// <summary>The build's targets. Each one states what it depends on; running one runs those first.</summary>
internal sealed partial class Targets
{
    private const string PackageProject = "src/NativeDiffusion/NativeDiffusion.csproj";
    private const string PackagesFolder = "artifacts/packages";
    private const string PackagedNativeLibrary = "runtimes/linux-x64/native/libnativediffusion.so";

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
        Pack = new("Pack", $"Packs NativeDiffusion into {PackagesFolder} and checks the native library is inside", [Compile],
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
        foreach (var old in Packages(output))
        {
            File.Delete(old); // so that only what this run produced is checked
        }

        _run.RunOrFail("dotnet", ["pack", PackageProject, "-c", "Release", "-o", PackagesFolder, .. NativeLibraryProperties()]);

        var packages = Packages(output).ToList();
        if (packages.Count == 0)
        {
            throw new BuildFailedException($"dotnet pack produced no NativeDiffusion package in {PackagesFolder}");
        }
        foreach (var package in packages)
        {
            using var archive = ZipFile.OpenRead(package);
            if (!archive.Entries.Any(e => e.FullName == PackagedNativeLibrary))
            {
                throw new BuildFailedException($"{Path.GetFileName(package)} does not contain {PackagedNativeLibrary}");
            }
            Console.WriteLine($"{Path.GetFileName(package)} contains {PackagedNativeLibrary}");
        }

        static IEnumerable<string> Packages(string folder) =>
            Directory.Exists(folder)
                ? Directory.EnumerateFiles(folder, "*.nupkg").Where(p => MainPackageName().IsMatch(Path.GetFileName(p)))
                : [];
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

    [GeneratedRegex(@"^NativeDiffusion\.\d+\.\d+\.\d+.*(?<!\.symbols)\.nupkg$")]
    private static partial Regex MainPackageName();
}
