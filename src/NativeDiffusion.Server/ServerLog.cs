namespace NativeDiffusion.Server;

/// <summary>The server's log messages.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "Loading model '{Name}' from {Path}")]
    public static partial void LoadingModel(ILogger logger, string name, string path);

    [LoggerMessage(2, LogLevel.Information, "Model '{Name}' loaded ({Family})")]
    public static partial void ModelLoaded(ILogger logger, string name, string family);

    [LoggerMessage(3, LogLevel.Critical, "Loading the models failed; the server stays up but is not ready (/readyz answers 503)")]
    public static partial void ModelLoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Job {Id} started on '{Model}': {Images} image(s) of {Width}x{Height}, {Steps} steps")]
    public static partial void JobStarted(ILogger logger, string id, string model, int images, int width, int height, int steps);

    [LoggerMessage(5, LogLevel.Information, "Job {Id} finished in {Seconds:0.00} s")]
    public static partial void JobFinished(ILogger logger, string id, double seconds);

    [LoggerMessage(6, LogLevel.Information, "Job {Id} cancelled: the client disconnected")]
    public static partial void JobAbandoned(ILogger logger, string id);

    [LoggerMessage(7, LogLevel.Information, "Job {Id} interrupted")]
    public static partial void JobInterrupted(ILogger logger, string id);

    [LoggerMessage(8, LogLevel.Error, "Job {Id} failed")]
    public static partial void JobFailed(ILogger logger, string id, Exception exception);

    [LoggerMessage(9, LogLevel.Information, "Shutting down: {Queued} queued job(s) answered 503, waiting up to {GraceSeconds} s for {Running} running")]
    public static partial void ShuttingDown(ILogger logger, int queued, int running, double graceSeconds);

    [LoggerMessage(10, LogLevel.Warning, "Grace period over: cancelling {Running} running job(s)")]
    public static partial void CancellingRunningJobs(ILogger logger, int running);
}
