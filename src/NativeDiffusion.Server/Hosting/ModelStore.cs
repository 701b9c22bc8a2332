using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using NativeDiffusion.Server.Configuration;

namespace NativeDiffusion.Server.Hosting;

/// <summary>
/// The models the server serves, by configured name: loaded once at start (<see cref="LoadAllAsync"/>), chosen by name
/// only, disposed at shutdown. Small on purpose: the library's model registry can take its place later.
/// </summary>
internal sealed class ModelStore(IOptions<ServerOptions> options, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly ServerOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModelStore>();
    private volatile FrozenDictionary<string, ServedModel>? _models;
    private volatile string? _failure;

    /// <summary>Whether every configured model is loaded.</summary>
    public bool IsReady => _models is not null;

    /// <summary>Why loading failed, or null.</summary>
    public string? Failure => _failure;

    /// <summary>The loaded models in configuration order; empty until <see cref="IsReady"/>.</summary>
    public IReadOnlyList<ServedModel> All => _models is { } models ? [.. _options.Models.Select(m => models[m.Name])] : [];

    /// <summary>The model a request names (by name or web-UI title, case-insensitive), or the default for null/empty.</summary>
    public ServedModel? Find(string? name)
    {
        if (_models is not { } models)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            return models[_options.DefaultModel];
        }

        if (models.TryGetValue(name, out var found))
        {
            return found;
        }

        // The web UI names checkpoints "file.safetensors [hash]" or "file [hash]"; accept those forms of our names.
        return All.FirstOrDefault(m => string.Equals(m.Title, name, StringComparison.OrdinalIgnoreCase)
            || string.Equals(StripHash(name), m.Name, StringComparison.OrdinalIgnoreCase)
            || string.Equals(Path.GetFileNameWithoutExtension(StripHash(name)), m.Name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Loads every configured model, in order; on failure records why, logs it and leaves the store not ready.</summary>
    public async Task LoadAllAsync(CancellationToken cancellationToken)
    {
        var loaded = new Dictionary<string, ServedModel>(StringComparer.OrdinalIgnoreCase);
        try
        {
            foreach (var model in _options.Models)
            {
                ServerLog.LoadingModel(_logger, model.Name, model.Path);
                var loadOptions = new ModelLoadOptions
                {
                    TokenizerPath = model.Tokenizer,
                    VaePath = model.Vae,
                    WeightType = model.ParsedWeightType,
                    Threads = model.Threads,
                    LoggerFactory = loggerFactory,
                };
                var diffusion = await DiffusionModel.LoadAsync(model.Path, loadOptions, cancellationToken).ConfigureAwait(false);
                var sha = File.Exists(model.Path) ? await HashAsync(model.Path, cancellationToken).ConfigureAwait(false) : null;
                loaded[model.Name] = new ServedModel(model, diffusion, sha);
                ServerLog.ModelLoaded(_logger, model.Name, diffusion.Info.FamilyName);
            }

            _models = loaded.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failure = $"Loading the models failed: {e.Message}";
            ServerLog.ModelLoadFailed(_logger, e);
            foreach (var model in loaded.Values)
            {
                await model.Model.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_models is { } models)
        {
            _models = null;
            foreach (var model in models.Values)
            {
                await model.Model.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    private static string StripHash(string name)
    {
        var bracket = name.IndexOf(" [", StringComparison.Ordinal);
        return (bracket > 0 ? name[..bracket] : name).Trim();
    }
}
