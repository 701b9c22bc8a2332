using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace NativeDiffusion.Hosting;

/// <summary>The <see cref="IDiffusionModelRegistry"/> that <c>AddNativeDiffusion</c> registers as a singleton.</summary>
/// <remarks>
/// The options are read once, when the registry is created: models named later by a configuration reload are not seen
/// (a loaded model cannot be swapped under the requests using it).
/// </remarks>
internal sealed class DiffusionModelRegistry : IDiffusionModelRegistry, IAsyncDisposable, IDisposable
{
    private readonly Dictionary<string, Entry> _entries;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private bool _disposed;

    public DiffusionModelRegistry(IOptions<NativeDiffusionOptions> options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<DiffusionModelRegistry>();
        _entries = value.Models.ToDictionary(m => m.Key, m => new Entry(m.Key, m.Value), StringComparer.OrdinalIgnoreCase);
        Names = [.. value.Models.Keys];
        DefaultModelName = value.ResolveDefaultModel();
    }

    public IReadOnlyList<string> Names { get; }

    public string? DefaultModelName { get; }

    public async ValueTask<DiffusionModel> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var entry = Find(name);
        Task<DiffusionModel> load;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (entry.Load is null || entry.Load.IsFaulted || entry.Load.IsCanceled)
            {
                entry.Load = LoadAsync(entry);
            }

            load = entry.Load;
        }

        return await load.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public GenerationRequest CreateRequest(string name, string prompt) => Find(name).Options.Defaults.CreateRequest(prompt);

    /// <summary>The options of model <paramref name="name"/>.</summary>
    internal DiffusionModelOptions GetOptions(string name) => Find(name).Options;

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Disposes every loaded model, waiting for loads and generations in flight to end.</summary>
    public async ValueTask DisposeAsync()
    {
        List<(string Name, Task<DiffusionModel> Load)> loads;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loads = [.. _entries.Values.Where(e => e.Load is not null).Select(e => (e.Name, e.Load!))];
        }

        foreach (var (name, load) in loads)
        {
            DiffusionModel model;
            try
            {
                model = await load.ConfigureAwait(false);
            }
            catch (Exception)
            {
                continue; // it failed; its callers were told
            }

            await model.DisposeAsync().ConfigureAwait(false);
            RegistryLog.ModelReleased(_logger, name);
        }
    }

    private Entry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _entries.TryGetValue(name, out var entry)
            ? entry
            : throw new KeyNotFoundException(
                $"No diffusion model is named '{name}': the configured models are {(Names.Count == 0 ? "none" : string.Join(", ", Names))}.");
    }

    // Shared by every caller, so no caller's token stops it; the engine cannot stop a load anyway.
    private async Task<DiffusionModel> LoadAsync(Entry entry)
    {
        var path = entry.Options.Path ?? string.Empty;
        RegistryLog.ModelLoading(_logger, entry.Name, path);
        var clock = Stopwatch.StartNew();
        try
        {
            var model = await DiffusionModel.LoadAsync(path, entry.Options.ToLoadOptions(_loggerFactory), CancellationToken.None).ConfigureAwait(false);
            RegistryLog.ModelReady(_logger, entry.Name, model.Info.FamilyName, model.Info.WeightBytes, clock.Elapsed.TotalSeconds);
            return model;
        }
        catch (Exception e)
        {
            RegistryLog.ModelLoadFailed(_logger, e, entry.Name, path);
            throw new DiffusionModelLoadException(entry.Name, path, e);
        }
    }

    private sealed class Entry(string name, DiffusionModelOptions options)
    {
        public string Name { get; } = name;

        public DiffusionModelOptions Options { get; } = options;

        public Task<DiffusionModel>? Load { get; set; }
    }
}
