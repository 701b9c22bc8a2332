namespace NativeDiffusion.Server.Jobs;

/// <summary>
/// A request the server answers with an error: the HTTP status, the request field at fault (if any) and a message that
/// says what to do. Each API family writes it in its own error shape.
/// </summary>
internal sealed class RequestRejectedException(int status, string message, string? field = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The request field at fault, as the client spelled it (<c>steps</c>, <c>init_images[0]</c>); null when none.</summary>
    public string? Field { get; } = field;

    /// <summary>A short machine-readable reason (<c>queue_full</c>, <c>shutting_down</c>, <c>invalid_value</c>...).</summary>
    public string Code { get; } = code ?? (status == StatusCodes.Status400BadRequest ? "invalid_value" : "error");

    /// <summary>Seconds after which retrying makes sense (429, 503); null when not said.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static RequestRejectedException Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, message, field);
}
