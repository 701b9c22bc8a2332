using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using NativeDiffusion.Images;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Packaging;

/// <summary>
/// The packages as a user meets them: packed from this build, added to a fresh console project through a local feed
/// (beside the machine's usual NuGet sources, for their dependencies), running the README's program. Slow (a pack, a
/// restore and a build: about a minute): filter it out of quick runs with <c>--filter Category!=Packaging</c>.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class PackageConsumptionTests
{
    private const string BeginMarker = "<!-- csharp-quickstart:begin -->";
    private const string EndMarker = "<!-- csharp-quickstart:end -->";

    [Fact]
    public void The_readme_program_is_ten_lines_of_csharp_between_its_markers()
    {
        var program = ReadmeProgram();

        var code = program.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal) && !l.StartsWith("using ", StringComparison.Ordinal)).ToList();
        Assert.InRange(code.Count, 1, 10);
        Assert.Contains("SaveAsPngAsync", program);
    }

    [Fact]
    public async Task The_readme_program_runs_from_the_packages_and_writes_a_png()
    {
        using var temp = new TempFolder("consumer");
        var feed = Path.Combine(temp.Path, "packages");
        var app = Path.Combine(temp.Path, "app");
        Directory.CreateDirectory(app);
        // A version of its own, so that NuGet's global cache never hands back a package from an earlier run.
        var version = $"0.0.1-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Random.Shared.Next(1000, 9999)}";
        try
        {
            foreach (var project in new[] { "NativeDiffusion.Runtime.Cpu", "NativeDiffusion" })
            {
                await RunAsync(TestPaths.RepoRoot, "pack", Path.Combine("src", project, project + ".csproj"), "-c", BuildConfiguration, "--no-build",
                               "-o", feed, $"-p:Version={version}", "-p:NdSkipNativeBuild=true");
            }

            AssertPackageHolds(Path.Combine(feed, $"NativeDiffusion.Runtime.Cpu.{version}.nupkg"), "runtimes/linux-x64/native/libnativediffusion.so");
            AssertPackageHolds(Path.Combine(feed, $"NativeDiffusion.{version}.nupkg"), "lib/net10.0/NativeDiffusion.dll", "lib/net10.0/NativeDiffusion.xml", "README.md");

            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="NativeDiffusion" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), ReadmeProgram());

            await RunAsync(app, "build", "-c", "Release");
            var output = await RunAsync(app, "run", "--no-build", "-c", "Release", "--", TinySd1.Checkpoint, TinySd1.Tokenizer, "2");

            Assert.True(File.Exists(Path.Combine(app, "bin", "Release", "net10.0", "runtimes", "linux-x64", "native", "libnativediffusion.so")),
                        "the native library did not come with the package");
            var png = Path.Combine(app, "lighthouse.png");
            Assert.True(File.Exists(png), $"the program wrote no lighthouse.png; it printed:\n{output}");
            var image = await GeneratedImage.LoadAsync(png);
            Assert.Equal((512, 512), (image.Width, image.Height));
            Assert.Equal((42L, 2), (image.Settings?.Seed, image.Settings?.Steps));
            Assert.Contains("lighthouse.png: 512x512, seed 42", output);
        }
        finally
        {
            // The global cache keeps what the restore extracted; this version is never asked for again.
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
                ? custom
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (var id in new[] { "nativediffusion", "nativediffusion.runtime.cpu" })
            {
                var folder = Path.Combine(cache, id, version);
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
    }

    /// <summary>The C# program of README.md's "Use it from C#" section, between its markers and code fences.</summary>
    private static string ReadmeProgram()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var begin = readme.IndexOf(BeginMarker, StringComparison.Ordinal);
        var end = readme.IndexOf(EndMarker, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"README.md has no {BeginMarker} ... {EndMarker} section");
        var block = readme[(begin + BeginMarker.Length)..end].Trim();
        Assert.StartsWith("```csharp\n", block);
        Assert.EndsWith("\n```", block);
        return block["```csharp\n".Length..^"\n```".Length] + "\n";
    }

    // The configuration this test assembly was built in: the projects it packs were built alongside it.
    private static string BuildConfiguration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    private static void AssertPackageHolds(string package, params string[] entries)
    {
        Assert.True(File.Exists(package), $"{package} was not produced");
        using var archive = ZipFile.OpenRead(package);
        var names = archive.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.All(entries, e => Assert.Contains(e, names));
    }

    private static async Task<string> RunAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The consumer must find the library the package brought, not one this test run was pointed at.
        start.Environment.Remove("ND_NATIVE_LIBRARY");
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        output.Append(await stdout).Append(await stderr);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode} in {workingDirectory}:\n{output}");
        return output.ToString();
    }
}
