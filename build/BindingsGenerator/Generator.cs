namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// Generates the C# bindings and the native struct layout table from native_diffusion.h, and checks or
/// writes the committed copies. Fails with a <see cref="BindingsGenerationException"/> naming every
/// declaration it cannot map, rather than emit anything wrong.
/// </summary>
public static class Generator
{
    /// <summary>The same as <see cref="Clang.FindClang"/>.</summary>
    public static string? FindClang() => Clang.FindClang();

    /// <summary>Reads <paramref name="headerPath"/> with clang and returns both generated texts.</summary>
    public static GeneratedBindings Generate(string headerPath, string clangPath)
    {
        var fullPath = Path.GetFullPath(headerPath);
        if (!File.Exists(fullPath))
        {
            throw new BindingsGenerationException([$"{fullPath}: header not found"]);
        }
        var headerBytes = File.ReadAllBytes(fullPath);
        var diagnostics = new Diagnostics(Path.GetFileName(fullPath));

        var (declarations, typeNames) = new AstReader(fullPath, headerBytes, diagnostics)
            .Read(Clang.DumpAst(clangPath, fullPath));
        var constants = MacroReader.Read(Clang.DumpMacros(clangPath, fullPath), File.ReadAllText(fullPath), diagnostics);
        var model = new HeaderModel(declarations, constants, typeNames);

        var csharp = new CSharpEmitter(model, new TypeMapper(model, diagnostics), diagnostics).Emit();
        var layoutTable = LayoutTableEmitter.Emit(model);
        diagnostics.ThrowIfAny();
        return new GeneratedBindings(csharp, layoutTable);
    }

    /// <summary>Generates from the repository's header with the clang found by <see cref="FindClang"/>.</summary>
    public static GeneratedBindings GenerateForRepository(string repoRoot)
    {
        var clang = FindClang() ?? throw new BindingsGenerationException([Clang.NotFoundReason()]);
        return Generate(RepositoryPaths.Resolve(repoRoot, RepositoryPaths.Header), clang);
    }

    /// <summary>The generated files, as (repository-relative path, contents).</summary>
    public static IReadOnlyList<(string RelativePath, string Contents)> Files(GeneratedBindings bindings) =>
    [
        (RepositoryPaths.CSharpBindings, bindings.CSharp),
        (RepositoryPaths.NativeLayoutTable, bindings.NativeLayoutTable),
    ];

    /// <summary>Writes both files under <paramref name="repoRoot"/>; returns the paths whose contents changed.</summary>
    public static IReadOnlyList<string> Write(string repoRoot, GeneratedBindings bindings)
    {
        var changed = new List<string>();
        foreach (var (relativePath, contents) in Files(bindings))
        {
            var path = RepositoryPaths.Resolve(repoRoot, relativePath);
            if (File.Exists(path) && File.ReadAllText(path) == contents)
            {
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, contents); // UTF-8 without BOM, LF as generated
            changed.Add(relativePath);
        }
        return changed;
    }

    /// <summary>Compares the committed files with <paramref name="bindings"/>; empty when all match.</summary>
    public static IReadOnlyList<FileDifference> Check(string repoRoot, GeneratedBindings bindings)
    {
        var differences = new List<FileDifference>();
        foreach (var (relativePath, expected) in Files(bindings))
        {
            var path = RepositoryPaths.Resolve(repoRoot, relativePath);
            if (!File.Exists(path))
            {
                differences.Add(new FileDifference(relativePath, "missing"));
                continue;
            }
            var summary = Describe(File.ReadAllText(path), expected);
            if (summary is not null)
            {
                differences.Add(new FileDifference(relativePath, summary));
            }
        }
        return differences;
    }

    /// <summary>Null when equal; otherwise the first differing line of both versions.</summary>
    private static string? Describe(string committed, string generated)
    {
        if (committed == generated)
        {
            return null;
        }
        var committedLines = committed.Split('\n');
        var generatedLines = generated.Split('\n');
        var common = Math.Min(committedLines.Length, generatedLines.Length);
        var line = Enumerable.Range(0, common).FirstOrDefault(i => committedLines[i] != generatedLines[i], common);
        var committedText = line < committedLines.Length ? committedLines[line] : "(end of file)";
        var generatedText = line < generatedLines.Length ? generatedLines[line] : "(end of file)";
        var hint = committedText.TrimEnd('\r') == generatedText ? " (line endings differ)" : "";
        return $"first difference at line {line + 1}{hint}: committed \"{committedText.TrimEnd('\r')}\", " +
               $"generated \"{generatedText}\" ({committedLines.Length} lines committed, {generatedLines.Length} generated)";
    }
}
