using Microsoft.Extensions.Logging;

namespace NativeDiffusion;

/// <summary>The log messages of <see cref="DiffusionModel"/> (source-generated).</summary>
internal static partial class DiffusionModelLog
{
    [LoggerMessage(EventId = 200, EventName = "ModelLoaded", Level = LogLevel.Debug,
        Message = "Loaded {Path}: {Family}, {Layout}, {TensorCount} weights, {WeightBytes} bytes, for generation: {ForGeneration}")]
    public static partial void ModelLoaded(ILogger logger, string path, string family, string layout, long tensorCount, long weightBytes, bool forGeneration);

    [LoggerMessage(EventId = 201, EventName = "ModelLoadFailed", Level = LogLevel.Debug, Message = "Loading {Path} failed with {ErrorCode}")]
    public static partial void ModelLoadFailed(ILogger logger, string path, NativeErrorCode errorCode);

    [LoggerMessage(EventId = 210, EventName = "GenerationStarted", Level = LogLevel.Debug,
        Message = "Generating {BatchCount} image(s) of {Width}x{Height}, {Steps} steps, sampler {Sampler}, schedule {Schedule}, seed {Seed}")]
    public static partial void GenerationStarted(ILogger logger, int batchCount, int width, int height, int steps, string sampler, string schedule, long seed);

    [LoggerMessage(EventId = 211, EventName = "GenerationFinished", Level = LogLevel.Information,
        Message = "Generated {ImageCount} image(s) in {Seconds:0.00} s")]
    public static partial void GenerationFinished(ILogger logger, int imageCount, double seconds);

    [LoggerMessage(EventId = 212, EventName = "GenerationCancelled", Level = LogLevel.Information, Message = "Generation cancelled after {Seconds:0.00} s")]
    public static partial void GenerationCancelled(ILogger logger, double seconds);

    [LoggerMessage(EventId = 220, EventName = "ConversionFinished", Level = LogLevel.Information,
        Message = "Converted the model to {OutputPath} ({WeightType}) in {Seconds:0.00} s")]
    public static partial void ConversionFinished(ILogger logger, string outputPath, string weightType, double seconds);
}
