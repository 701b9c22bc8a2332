namespace NativeDiffusion.BindingsGenerator;

/// <summary>Where the header and the generated files live, relative to the repository root.</summary>
public static class RepositoryPaths
{
    public const string Header = "native/include/native_diffusion.h";
    public const string CSharpBindings = "src/NativeDiffusion/Interop/NativeMethods.g.cs";
    public const string NativeLayoutTable = "native/src/capi/struct_layout.g.inc";

    /// <summary>
    /// Walks up from <paramref name="start"/> to the first folder that holds NativeDiffusion.sln, or
    /// CMakeLists.txt beside a native/ folder. Returns null when there is none.
    /// </summary>
    public static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            var hasSolution = File.Exists(Path.Combine(dir.FullName, "NativeDiffusion.sln"))
                              || File.Exists(Path.Combine(dir.FullName, "NativeDiffusion.slnx"));
            var hasNativeTree = File.Exists(Path.Combine(dir.FullName, "CMakeLists.txt"))
                                && Directory.Exists(Path.Combine(dir.FullName, "native"));
            if (hasSolution || hasNativeTree)
            {
                return dir.FullName;
            }
        }
        return null;
    }

    /// <summary>Turns a repository-relative path with forward slashes into a full path.</summary>
    public static string Resolve(string repoRoot, string relativePath) =>
        Path.Combine(repoRoot, relativePath.Replace('/', Path.DirectorySeparatorChar));
}
