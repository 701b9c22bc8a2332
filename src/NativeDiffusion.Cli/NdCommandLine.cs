using System.CommandLine;
using System.CommandLine.Invocation;

namespace NativeDiffusion.Cli;

/// <summary>The <c>nd</c> command line: its commands, and how it turns failures into messages and exit codes.</summary>
internal static class NdCommandLine
{
    /// <summary>
    /// Runs <c>nd</c> with <paramref name="args"/>, writing results to <paramref name="output"/> and messages to
    /// <paramref name="error"/>. Returns the exit code (<see cref="ExitCodes"/>); never throws for a failed command and
    /// never prints a stack trace.
    /// </summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = CreateRootCommand();
        var parseResult = root.Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };

        if (parseResult.Action is ParseErrorAction)
        {
            await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return ReportFailure(e, error);
        }
    }

    /// <summary>The root command with every subcommand.</summary>
    internal static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("nd: the NativeDiffusion command-line tool.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TokenizerCommand.Create());
        return root;
    }

    /// <summary>Writes one clear message for <paramref name="exception"/> to <paramref name="error"/> and picks the exit code.</summary>
    internal static int ReportFailure(Exception exception, TextWriter error)
    {
        switch (exception)
        {
            case NativeDiffusionException or NativeLibraryNotFoundException or IncompatibleNativeLibraryException
                or IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException:
                error.WriteLine($"nd: error: {exception.Message}");
                return ExitCodes.Failure;
            case OperationCanceledException:
                error.WriteLine("nd: cancelled");
                return ExitCodes.Cancelled;
            case ArgumentException:
                error.WriteLine($"nd: error: {exception.Message}");
                return ExitCodes.Usage;
            default:
                error.WriteLine($"nd: internal error ({exception.GetType().Name}): {exception.Message}");
                return ExitCodes.Failure;
        }
    }
}
