namespace NativeDiffusion.Server.Configuration;

/// <summary>One model the server loads at start and serves under <see cref="Name"/> (configuration <c>Models:N</c>).</summary>
public sealed record ModelOptions
{
    /// <summary>The name clients choose the model by (A1111 <c>sd_model_checkpoint</c>, OpenAI <c>model</c>); letters, digits, <c>.-_</c>.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>The model file (<c>.safetensors</c>, <c>.gguf</c>) or diffusers folder. Never taken from a request.</summary>
    public string Path { get; init; } = string.Empty;

    /// <summary>A folder with the CLIP tokenizer's <c>vocab.json</c> and <c>merges.txt</c>; null to let the engine search.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>A separate VAE file; null for the model's own.</summary>
    public string? Vae { get; init; }

    /// <summary>The weight type to convert to while loading (<c>Q8_0</c>, <c>F16</c>...); null keeps the stored types.</summary>
    public string? WeightType { get; init; }

    /// <summary>Worker threads; 0 for one per physical core.</summary>
    public int Threads { get; init; }

    /// <summary>The size an OpenAI request without <c>size</c> (or with <c>auto</c>) gets, and the A1111 default; 512 for SD 1.x.</summary>
    public int DefaultWidth { get; init; } = 512;

    /// <summary>See <see cref="DefaultWidth"/>.</summary>
    public int DefaultHeight { get; init; } = 512;

    /// <summary>Sampling steps for OpenAI requests, which cannot say.</summary>
    public int DefaultSteps { get; init; } = 20;

    /// <summary>The engine sampler for OpenAI requests (<c>euler_a</c>, <c>dpmpp_2m</c>...).</summary>
    public string DefaultSampler { get; init; } = Samplers.EulerAncestral;

    /// <summary>The CFG scale for OpenAI requests.</summary>
    public double DefaultCfgScale { get; init; } = 7;

    /// <summary>The weight type parsed, or null for as stored.</summary>
    internal TensorDataType? ParsedWeightType =>
        string.IsNullOrWhiteSpace(WeightType) ? null : Enum.Parse<TensorDataType>(WeightType, ignoreCase: true);
}
