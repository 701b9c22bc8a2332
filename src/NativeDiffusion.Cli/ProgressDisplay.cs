using System.Globalization;
using Spectre.Console;

namespace NativeDiffusion.Cli;

/// <summary>
/// Shows the progress of a long command on stderr: a live bar (Spectre.Console) on a terminal, else one line per change,
/// which reads well in logs and tests.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Runs <paramref name="work"/>, giving it a callback that shows a fraction (0 to 1) and a status text.</summary>
    public static async Task<T> RunAsync<T>(TextWriter error, string title, Func<Action<double, string>, Task<T>> work)
    {
        if (!ReferenceEquals(error, Console.Error) || Console.IsErrorRedirected)
        {
            string? last = null;
            return await work((_, text) =>
            {
                lock (error)
                {
                    if (text != last)
                    {
                        error.WriteLine($"nd: {text}");
                        last = text;
                    }
                }
            }).ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new ProgressBarColumn(), new PercentageColumn(), new TaskDescriptionColumn { Alignment = Justify.Left })
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: 1);
                return await work((fraction, text) =>
                {
                    task.Value = Math.Clamp(fraction, 0, 1);
                    task.Description = Markup.Escape(text);
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    /// <summary>The status text of a generation: <c>image 1/2: step 3/20, 4.21 it/s, ETA 0:05</c>.</summary>
    public static string Describe(GenerationProgress progress)
    {
        var image = progress.Images > 1 ? $"image {progress.Image + 1}/{progress.Images}: " : string.Empty;
        return progress.Stage switch
        {
            GenerationStage.TextEncoding => "encoding the prompt",
            GenerationStage.Decoding => $"{image}decoding",
            _ when progress.Step == 0 => $"{image}sampling",
            _ => $"{image}step {progress.Step}/{progress.Steps}, {Speed(progress.LastStep)}"
                + (progress.EstimatedRemaining is { } eta ? $", ETA {Duration(eta)}" : string.Empty),
        };
    }

    /// <summary>A step time as a rate: <c>4.21 it/s</c> below a second a step, else <c>1.52 s/it</c>.</summary>
    public static string Speed(TimeSpan step)
    {
        var seconds = step.TotalSeconds;
        if (seconds <= 0)
        {
            return "- it/s";
        }

        return seconds < 1
            ? (1 / seconds).ToString("0.00", CultureInfo.InvariantCulture) + " it/s"
            : seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s/it";
    }

    /// <summary>A duration as <c>m:ss</c> (or <c>h:mm:ss</c>).</summary>
    public static string Duration(TimeSpan duration) =>
        duration.TotalHours >= 1
            ? duration.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
            : duration.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
