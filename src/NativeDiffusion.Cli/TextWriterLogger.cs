using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Cli;

/// <summary>A logger that writes <c>nd: [level] message</c> lines to a writer (stderr for <c>--verbose</c>).</summary>
internal sealed class TextWriterLogger(TextWriter writer, LogLevel minimumLevel) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var level = logLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warning",
            LogLevel.Error => "error",
            _ => "critical",
        };
        lock (writer)
        {
            writer.WriteLine($"nd: [{level}] {formatter(state, exception)}");
        }
    }
}
