namespace NativeDiffusion.Tests;

/// <summary>
/// Finds the repository root and the shared fixtures (<c>../shared/fixtures</c> from the root, or the folder named by
/// <c>ND_FIXTURES</c>). A test that needs a fixture that is missing fails with a message that says where it looked.
/// </summary>
internal static class TestPaths
{
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The repository root (the folder holding <c>native/include/native_diffusion.h</c>).</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The fixtures folder; fails the test if it does not exist.</summary>
    public static string FixturesRoot
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("ND_FIXTURES");
            var root = string.IsNullOrEmpty(overridden)
                ? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"))
                : Path.GetFullPath(overridden);
            if (!Directory.Exists(root))
            {
                Assert.Fail($"The shared test fixtures are missing: no folder {root}. They live in ../shared/fixtures beside " +
                            "the repository (or set ND_FIXTURES to their folder).");
            }

            return root;
        }
    }

    /// <summary>The tiny SD 1.x single-file checkpoint: 981 tensors, 11,520,235 parameters, float16 (plus int64 position_ids).</summary>
    public static string TinySd1Model => Fixture("tiny-sd1", "model.safetensors");

    /// <summary>A file or folder under the fixtures folder; fails the test with a clear message if it does not exist.</summary>
    public static string Fixture(params string[] relativeParts)
    {
        var path = Path.Combine([FixturesRoot, .. relativeParts]);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            Assert.Fail($"The test fixture {path} is missing from the shared fixtures folder {FixturesRoot}.");
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "native", "include", "native_diffusion.h")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (with native/include/native_diffusion.h) above {AppContext.BaseDirectory}.");
    }
}

/// <summary>A temporary folder deleted with its contents on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder(string? name = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nd-tests-" + Guid.NewGuid().ToString("N")[..8], name ?? "files");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
