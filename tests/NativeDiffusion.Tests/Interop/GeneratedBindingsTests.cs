using System.Runtime.CompilerServices;
using NativeDiffusion.BindingsGenerator;

namespace NativeDiffusion.Tests.Interop;

public sealed class GeneratedBindingsTests
{
    private const string Prelude = """
        #include <stddef.h>
        #include <stdint.h>
        #include <time.h>
        #define ND_API __attribute__((visibility("default")))

        """;

    [RequiresClangFact]
    public void Committed_bindings_match_a_fresh_generation()
    {
        var root = RepositoryRoot();
        Assert.True(root is not null, $"no repository root above {AppContext.BaseDirectory} or {ThisFile()}");

        var differences = Generator.Check(root, Generator.GenerateForRepository(root));

        Assert.True(differences.Count == 0,
                    "The committed generated files differ from what the header produces; run ./build.sh Bindings:\n"
                    + string.Join('\n', differences.Select(d => $"  {d.RelativePath}: {d.Summary}")));
    }

    [RequiresClangTheory]
    [InlineData("typedef union nd_value { int32_t i; float f; } nd_value;", "nd_value", "union")]
    [InlineData("typedef struct nd_point { int32_t x; } nd_point;\nND_API void nd_draw(nd_point point);", "nd_draw(point)", "by value")]
    [InlineData("typedef struct nd_name { char text[64]; } nd_name;", "nd_name.text", "array")]
    [InlineData("ND_API void nd_printf(const char* format, ...);", "nd_printf", "variadic")]
    [InlineData("typedef struct nd_clock { clock_t ticks; } nd_clock;", "nd_clock.ticks", "clock_t")]
    public void Unsupported_construct_fails_generation_naming_the_declaration(string declarations, string name, string reason)
    {
        using var temp = new TempHeader(Prelude + declarations);

        var e = Assert.Throws<BindingsGenerationException>(() => Generator.Generate(temp.Path, Generator.FindClang()!));

        var error = Assert.Single(e.Errors);
        Assert.Contains($": {name}: ", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Contains(error, e.Message, StringComparison.Ordinal);
    }

    [RequiresClangFact]
    public void Typedefs_of_included_system_headers_do_not_leak_into_the_bindings()
    {
        using var temp = new TempHeader(Prelude + """
            #include <stdio.h>
            typedef struct nd_pair { uint32_t first; size_t second; } nd_pair;
            ND_API uint32_t nd_pair_sum(const nd_pair* pair);
            """);

        var bindings = Generator.Generate(temp.Path, Generator.FindClang()!);

        Assert.Contains("internal unsafe struct NdPair", bindings.CSharp, StringComparison.Ordinal);
        Assert.Contains("internal static partial uint nd_pair_sum(NdPair* pair);", bindings.CSharp, StringComparison.Ordinal);
        Assert.DoesNotContain("FILE", bindings.CSharp, StringComparison.Ordinal);
        Assert.Equal(["ND_LAYOUT_STRUCT(nd_pair)", "ND_LAYOUT_FIELD(nd_pair, first)", "ND_LAYOUT_FIELD(nd_pair, second)"],
                     bindings.NativeLayoutTable.Split('\n').Where(l => l.StartsWith("ND_LAYOUT", StringComparison.Ordinal)));
    }

    /// <summary>Above the test binaries, or (for builds with an artifacts path outside the tree) above this source file.</summary>
    private static string? RepositoryRoot() =>
        RepositoryPaths.FindRoot(AppContext.BaseDirectory) ?? RepositoryPaths.FindRoot(Path.GetDirectoryName(ThisFile())!);

    private static string ThisFile([CallerFilePath] string path = "") => path;

    /// <summary>A header in a folder of its own under the temp folder, deleted afterwards.</summary>
    private sealed class TempHeader : IDisposable
    {
        private readonly string _folder =
            System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nd-bindings-" + Guid.NewGuid().ToString("N"));

        public TempHeader(string contents)
        {
            Directory.CreateDirectory(_folder);
            Path = System.IO.Path.Combine(_folder, "native_diffusion.h");
            File.WriteAllText(Path, contents);
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>A [Fact] that is skipped, saying why, where no clang is installed: the generator reads the header with it.</summary>
public sealed class RequiresClangFactAttribute : FactAttribute
{
    public RequiresClangFactAttribute() => Skip = ClangRequirement.SkipReason;
}

/// <summary>A [Theory] that is skipped, saying why, where no clang is installed.</summary>
public sealed class RequiresClangTheoryAttribute : TheoryAttribute
{
    public RequiresClangTheoryAttribute() => Skip = ClangRequirement.SkipReason;
}

internal static class ClangRequirement
{
    public static string? SkipReason { get; } =
        Generator.FindClang() is null ? Clang.NotFoundReason() + " (the bindings generator reads the header with clang)" : null;
}
