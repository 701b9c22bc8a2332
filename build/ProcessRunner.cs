using System.ComponentModel;
using System.Diagnostics;

namespace NativeDiffusion.Build;

/// <summary>Runs a command in the repository root: echoes it, lets its output stream through, returns its exit code.</summary>
internal sealed class ProcessRunner(string workingDirectory)
{
    public int Run(string fileName, params IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        Console.WriteLine($"> {fileName} {string.Join(' ', startInfo.ArgumentList.Select(Quote))}");

        try
        {
            using var process = Process.Start(startInfo)!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (Win32Exception e)
        {
            throw new BuildFailedException($"could not start '{fileName}' ({e.Message}); is it installed and on PATH?");
        }
    }

    /// <summary>Runs the command and fails the build, with the command's exit code, if it fails.</summary>
    public void RunOrFail(string fileName, params IEnumerable<string> arguments)
    {
        var exitCode = Run(fileName, arguments);
        if (exitCode != 0)
        {
            throw new BuildFailedException($"'{fileName}' exited with code {exitCode}", exitCode);
        }
    }

    private static string Quote(string argument) =>
        argument.Length > 0 && !argument.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'') ? argument : $"\"{argument}\"";
}

/// <summary>Stops the build; <see cref="ExitCode"/> is what the build exits with.</summary>
internal sealed class BuildFailedException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode == 0 ? 1 : exitCode;
}
