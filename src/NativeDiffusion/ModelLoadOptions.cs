using Microsoft.Extensions.Logging;

namespace NativeDiffusion;

/// <summary>How <see cref="DiffusionModel.LoadAsync"/> loads a model. Every property has a working default.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>The most worker threads a model may ask for.</summary>
    public const int MaxThreads = 1024;

    /// <summary>A separate VAE (a <c>.safetensors</c> file) replacing the model's own; null: the model's.</summary>
    public string? VaePath { get; init; }

    /// <summary>
    /// A folder with the CLIP tokenizer's <c>vocab.json</c> and <c>merges.txt</c>; null: the engine searches the model's
    /// folder and the usual places (see docs/formats.md). GGUF files written by <see cref="DiffusionModel.ConvertAsync"/>
    /// carry their vocabulary and need none.
    /// </summary>
    public string? TokenizerPath { get; init; }

    /// <summary>
    /// The element type to convert weights to while loading (e.g. <see cref="TensorDataType.Q8_0"/> to quarter the memory
    /// of an F32 model); null (the default) keeps every weight as stored. Only F32, F16, BF16 and the block-quantized
    /// types other than Q8_K are accepted.
    /// </summary>
    public TensorDataType? WeightType { get; init; }

    /// <summary>What the UNet predicts; <see cref="PredictionType.Auto"/> (the default) takes what the files say.</summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Auto;

    /// <summary>Worker threads for generation; 0 (the default): one per physical core.</summary>
    public int Threads { get; init; }

    /// <summary>Receives the engine's log messages (and the library's own) for this model; wins over <see cref="LoggerFactory"/>.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Creates the logger (category <see cref="NativeDiffusionLibrary.NativeLogCategory"/>) when <see cref="Logger"/> is null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The defaults.</summary>
    public static ModelLoadOptions Default { get; } = new();

    /// <summary>Checks every property; throws <see cref="ArgumentException"/> naming the first that is out of range.</summary>
    /// <exception cref="ArgumentException">A property is out of range; <see cref="ArgumentException.ParamName"/> names it.</exception>
    public void Validate()
    {
        if (WeightType is { } type && !type.IsWeightType())
        {
            throw new ArgumentException(
                $"WeightType {type} is not a weight type: use F32, F16, BF16 or a block-quantized type (Q8_0, Q5_0, Q4_0, Q4_K...), or null to keep the stored types.",
                nameof(WeightType));
        }

        if (!Enum.IsDefined(PredictionType))
        {
            throw new ArgumentException($"PredictionType {(int)PredictionType} is not a PredictionType value.", nameof(PredictionType));
        }

        if (Threads is < 0 or > MaxThreads)
        {
            throw new ArgumentException($"Threads must be 0 (one per physical core) or 1 to {MaxThreads}, got {Threads}.", nameof(Threads));
        }

        if (VaePath is { Length: 0 })
        {
            throw new ArgumentException("VaePath is empty: give a path or null for the model's own VAE.", nameof(VaePath));
        }

        if (TokenizerPath is { Length: 0 })
        {
            throw new ArgumentException("TokenizerPath is empty: give a folder or null to search.", nameof(TokenizerPath));
        }
    }

    /// <summary>The logger to use: <see cref="Logger"/>, else one from <see cref="LoggerFactory"/>, else none.</summary>
    internal ILogger? ResolveLogger() => Logger ?? LoggerFactory?.CreateLogger(NativeDiffusionLibrary.NativeLogCategory);
}
