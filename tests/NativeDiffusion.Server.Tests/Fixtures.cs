namespace NativeDiffusion.Server.Tests;

/// <summary>
/// Finds the shared fixtures (<c>../shared/fixtures</c> beside the repository root, or the folder named by
/// <c>ND_FIXTURES</c>); a missing fixture fails the test with a message that says where it looked.
/// </summary>
internal static class Fixtures
{
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The tiny SD 1.x checkpoint (random weights, fast at 64x64).</summary>
    public static string TinyModel => Fixture("tiny-sd1", "model.safetensors");

    /// <summary>The CLIP tokenizer folder the tiny model needs.</summary>
    public static string Tokenizer => Fixture("tokenizer");

    /// <summary>A file that exists but is not a model.</summary>
    public static string NotAModel => Fixture("tokenizer", "merges.txt");

    public static string RepoRoot => s_repoRoot.Value;

    public static string Fixture(params string[] parts)
    {
        var overridden = Environment.GetEnvironmentVariable("ND_FIXTURES");
        var root = string.IsNullOrEmpty(overridden) ? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures")) : Path.GetFullPath(overridden);
        var path = Path.Combine([root, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            Assert.Fail($"The test fixture {path} is missing: the shared fixtures live in ../shared/fixtures beside the repository (or set ND_FIXTURES).");
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
