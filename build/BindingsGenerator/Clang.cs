using System.ComponentModel;
using System.Diagnostics;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>Finds clang and runs it on the header: the JSON AST dump and the macro dump.</summary>
public static class Clang
{
    /// <summary>The environment variable that names the clang to use, ahead of any on PATH.</summary>
    public const string EnvironmentVariable = "ND_CLANG";

    private static readonly string[] CandidateNames =
        ["clang", "clang-14", "clang-15", "clang-16", "clang-17", "clang-18", "clang-19"];

    /// <summary>
    /// The clang to use: $ND_CLANG if set (a path, or a name on PATH), then clang, clang-14 ... clang-19
    /// on PATH. Null when none is found.
    /// </summary>
    public static string? FindClang()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return File.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : FindOnPath(fromEnvironment);
        }
        return CandidateNames.Select(FindOnPath).FirstOrDefault(path => path is not null);
    }

    /// <summary>Why <see cref="FindClang"/> found nothing, for error and skip messages.</summary>
    public static string NotFoundReason()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment)
            ? $"clang was not found on PATH ({string.Join(", ", CandidateNames)}); install clang 14 or later, " +
              $"or set {EnvironmentVariable} to its path"
            : $"{EnvironmentVariable}={fromEnvironment} is neither a file nor a program on PATH";
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var suffixes = OperatingSystem.IsWindows() ? new[] { ".exe", "" } : [""];
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var suffix in suffixes)
            {
                var candidate = Path.Combine(dir, name + suffix);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    /// <summary>The header's AST as JSON, with plain /* */ comments attached to declarations.</summary>
    internal static string DumpAst(string clangPath, string headerPath) =>
        Run(clangPath, ["-x", "c", "-std=c11", "-fsyntax-only", "-fparse-all-comments",
                        "-Xclang", "-ast-dump=json", headerPath]);

    /// <summary>Every macro defined after preprocessing the header, one "#define NAME VALUE" a line.</summary>
    internal static string DumpMacros(string clangPath, string headerPath) =>
        Run(clangPath, ["-x", "c", "-std=c11", "-dM", "-E", headerPath]);

    private static string Run(string clangPath, IReadOnlyList<string> arguments)
    {
        var startInfo = new ProcessStartInfo(clangPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("Process.Start returned null");
        }
        catch (Win32Exception e)
        {
            throw new BindingsGenerationException([$"could not start {clangPath}: {e.Message}"]);
        }

        using (process)
        {
            // Read both streams concurrently: the AST dump is far larger than a pipe's buffer.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new BindingsGenerationException(
                    [$"{clangPath} {string.Join(' ', arguments)} exited with code {process.ExitCode}:",
                     .. stderr.Result.TrimEnd().Split('\n')]);
            }
            return stdout.Result;
        }
    }
}
