namespace NativeDiffusion.Server.Configuration;

/// <summary>
/// The server's settings, bound from the configuration's root keys (appsettings.json, environment variables such as
/// <c>Models__0__Path</c>, or the command line <c>--Models:0:Path=...</c>). Checked at start by <see cref="ServerOptionsValidator"/>.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>The models to load; the first is the default.</summary>
    public IReadOnlyList<ModelOptions> Models { get; init; } = [];

    /// <summary>Jobs that may wait for a worker; one more gets 429 Too Many Requests.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Jobs that run at once (each model still runs one job at a time).</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>The most pixels (width x height) one image may have.</summary>
    public long MaxPixels { get; init; } = 1024 * 1024;

    /// <summary>The most sampling steps a request may ask for.</summary>
    public int MaxSteps { get; init; } = 150;

    /// <summary>The most images one request may ask for (A1111 batch_size x n_iter, OpenAI n).</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>The largest CFG scale a request may ask for.</summary>
    public double MaxCfgScale { get; init; } = 30;

    /// <summary>The largest request body, in bytes (init images are base64 in JSON); larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>When set, every endpoint but <c>/healthz</c>, <c>/readyz</c> and the page's static files needs <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Sampling steps between previews (for <c>/sdapi/v1/progress</c>'s <c>current_image</c>); 0 for none.</summary>
    public int PreviewInterval { get; init; } = 5;

    /// <summary>On shutdown, how long running jobs may go on before they are cancelled.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The model to use when a request names none: <see cref="Models"/>' first.</summary>
    internal string DefaultModel => Models.Count > 0 ? Models[0].Name : string.Empty;
}
