using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Hosting;

/// <summary>Hosts configured like an app's appsettings.json, from in-memory key/value pairs.</summary>
internal static class TestHosts
{
    /// <summary>The configuration of the tiny fixture as model <paramref name="name"/> (64x64, 2 steps by default).</summary>
    public static Dictionary<string, string?> TinyModel(string name = "tiny") => new()
    {
        [$"NativeDiffusion:Models:{name}:Path"] = TinySd1.Checkpoint,
        [$"NativeDiffusion:Models:{name}:TokenizerPath"] = TinySd1.Tokenizer,
        [$"NativeDiffusion:Models:{name}:Defaults:Width"] = "64",
        [$"NativeDiffusion:Models:{name}:Defaults:Height"] = "64",
        [$"NativeDiffusion:Models:{name}:Defaults:Steps"] = "2",
        [$"NativeDiffusion:Models:{name}:Defaults:Sampler"] = "euler",
        [$"NativeDiffusion:Models:{name}:Defaults:NegativePrompt"] = "blurry",
    };

    /// <summary>A host (not started) with <c>AddNativeDiffusion</c> bound to the <c>NativeDiffusion</c> section of <paramref name="settings"/>.</summary>
    public static IHost Create(IEnumerable<KeyValuePair<string, string?>> settings, ILoggerProvider? logs = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace);
        }

        builder.Services.AddNativeDiffusion(builder.Configuration.GetSection("NativeDiffusion"));
        return builder.Build();
    }
}

/// <summary>Gives every category the same <see cref="TestLogger"/>, remembering which categories were asked for.</summary>
internal sealed class TestLoggerProvider : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TestLogger> _loggers = new();

    public IReadOnlyCollection<string> Categories => [.. _loggers.Keys];

    public IReadOnlyList<LogEntry> Entries(string category) => _loggers.TryGetValue(category, out var logger) ? logger.Entries : [];

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, _ => new TestLogger());

    public void Dispose()
    {
    }
}
