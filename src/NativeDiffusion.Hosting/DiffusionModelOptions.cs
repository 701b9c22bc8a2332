namespace NativeDiffusion.Hosting;

/// <summary>One named model of <see cref="NativeDiffusionOptions.Models"/>: where its files are and how to load it.</summary>
public sealed class DiffusionModelOptions
{
    /// <summary>The model: a <c>.safetensors</c> checkpoint, a GGUF file or a diffusers folder. Required. A relative path is
    /// taken from the current directory.</summary>
    public string? Path { get; set; }

    /// <summary>A separate VAE file replacing the model's own; null: the model's (see <see cref="ModelLoadOptions.VaePath"/>).</summary>
    public string? VaePath { get; set; }

    /// <summary>A folder with the CLIP tokenizer's <c>vocab.json</c> and <c>merges.txt</c>; null: the engine searches
    /// (see <see cref="ModelLoadOptions.TokenizerPath"/>).</summary>
    public string? TokenizerPath { get; set; }

    /// <summary>The element type to convert weights to while loading (<c>"Q8_0"</c>, <c>"F16"</c>...); null keeps them as stored.</summary>
    public TensorDataType? WeightType { get; set; }

    /// <summary>What the UNet predicts; <see cref="PredictionType.Auto"/> (the default) takes what the files say.</summary>
    public PredictionType Prediction { get; set; } = PredictionType.Auto;

    /// <summary>Worker threads for generation; 0 (the default): one per physical core.</summary>
    public int Threads { get; set; }

    /// <summary>Load the model while the host starts instead of on first use; default false.</summary>
    public bool LoadOnStart { get; set; }

    /// <summary>The values a request made through this model's <c>IImageGenerator</c> (or
    /// <see cref="IDiffusionModelRegistry.CreateRequest"/>) starts from.</summary>
    public GenerationDefaults Defaults { get; set; } = new();

    /// <summary>The load options these settings describe; log messages go to <paramref name="loggerFactory"/>.</summary>
    internal ModelLoadOptions ToLoadOptions(Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory) => new()
    {
        VaePath = VaePath,
        TokenizerPath = TokenizerPath,
        WeightType = WeightType,
        PredictionType = Prediction,
        Threads = Threads,
        LoggerFactory = loggerFactory,
    };
}
