using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Interop;

/// <summary>The library's log messages (source-generated).</summary>
internal static partial class NativeLog
{
    /// <summary>A message of the native engine, passed through at its own level.</summary>
    [LoggerMessage(EventId = 1, EventName = "NativeMessage", Message = "{NativeMessage}")]
    public static partial void Message(ILogger logger, LogLevel level, string nativeMessage);

    [LoggerMessage(EventId = 100, EventName = "SafeTensorsOpened", Level = LogLevel.Debug,
        Message = "Opened {Path}: {TensorCount} tensors, {ParameterCount} parameters, {MetadataCount} metadata entries")]
    public static partial void SafeTensorsOpened(ILogger logger, string path, int tensorCount, long parameterCount, int metadataCount);

    [LoggerMessage(EventId = 101, EventName = "SafeTensorsOpenFailed", Level = LogLevel.Debug,
        Message = "Opening {Path} failed with {ErrorCode}")]
    public static partial void SafeTensorsOpenFailed(ILogger logger, string path, NativeErrorCode errorCode);
}
