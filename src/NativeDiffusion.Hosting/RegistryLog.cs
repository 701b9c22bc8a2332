using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Hosting;

/// <summary>The log messages of <see cref="DiffusionModelRegistry"/> (source-generated).</summary>
internal static partial class RegistryLog
{
    [LoggerMessage(EventId = 300, EventName = "ModelLoading", Level = LogLevel.Information, Message = "Loading model {Name} from {Path}")]
    public static partial void ModelLoading(ILogger logger, string name, string path);

    [LoggerMessage(EventId = 301, EventName = "ModelReady", Level = LogLevel.Information,
        Message = "Model {Name} is ready ({Family}, {WeightBytes} bytes of weights) after {Seconds:0.00} s")]
    public static partial void ModelReady(ILogger logger, string name, string family, long weightBytes, double seconds);

    [LoggerMessage(EventId = 302, EventName = "ModelLoadFailed", Level = LogLevel.Error, Message = "Model {Name} could not be loaded from {Path}")]
    public static partial void ModelLoadFailed(ILogger logger, Exception exception, string name, string path);

    [LoggerMessage(EventId = 303, EventName = "ModelReleased", Level = LogLevel.Debug, Message = "Model {Name} released")]
    public static partial void ModelReleased(ILogger logger, string name);
}
