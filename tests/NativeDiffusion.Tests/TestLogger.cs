using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Tests;

/// <summary>One message a <see cref="TestLogger"/> received.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message);

/// <summary>A logger that keeps every entry at or above its minimum level; thread-safe.</summary>
internal sealed class TestLogger(LogLevel minimumLevel = LogLevel.Trace) : ILogger
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>
    /// When set, logging a message of the native engine (event id 1) throws it, to test that the native callback never
    /// unwinds into native code.
    /// </summary>
    public Exception? ThrowOnNativeMessage { get; init; }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (ThrowOnNativeMessage is not null && eventId.Id == 1)
        {
            throw ThrowOnNativeMessage;
        }

        if (IsEnabled(logLevel))
        {
            _entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception)));
        }
    }
}
