using System.Globalization;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api;

/// <summary>The checks both API families make, against the configured limits, naming the client's field.</summary>
internal static class RequestLimits
{
    public static void CheckSize(ServerOptions options, int width, int height, string widthField, string heightField)
    {
        CheckSide(width, widthField);
        CheckSide(height, heightField);
        if ((long)width * height > options.MaxPixels)
        {
            throw RequestRejectedException.Invalid(
                widthField, $"{width}x{height} is {(long)width * height} pixels, more than this server's limit of {options.MaxPixels} (MaxPixels).");
        }
    }

    public static void CheckSteps(ServerOptions options, int steps, string field)
    {
        if (steps < 1 || steps > options.MaxSteps)
        {
            throw RequestRejectedException.Invalid(field, $"{field} must be from 1 to {options.MaxSteps}, got {steps}.");
        }
    }

    public static void CheckCfgScale(ServerOptions options, double cfg, string field)
    {
        if (!double.IsFinite(cfg) || cfg < 0 || cfg > options.MaxCfgScale)
        {
            throw RequestRejectedException.Invalid(
                field, string.Create(CultureInfo.InvariantCulture, $"{field} must be from 0 to {options.MaxCfgScale}, got {cfg}."));
        }
    }

    public static void CheckBatch(ServerOptions options, int count, string field, string what)
    {
        if (count < 1 || count > options.MaxBatch)
        {
            throw RequestRejectedException.Invalid(field, $"{what} must be from 1 to {options.MaxBatch} (MaxBatch), got {count}.");
        }
    }

    public static void CheckSeed(long seed, string field)
    {
        if (seed < -1)
        {
            throw RequestRejectedException.Invalid(field, $"{field} must be -1 (random) or 0 or more, got {seed}.");
        }
    }

    /// <summary>The model a request names, or the default; 503 while the models load, 400 naming the field for an unknown name.</summary>
    public static ServedModel FindModel(ModelStore models, GenerationQueue queue, ServerOptions options, string? name, string field)
    {
        if (queue.IsStopping)
        {
            throw GenerationQueue.ShuttingDown("The server is shutting down and takes no new work; retry on another instance.");
        }

        if (!models.IsReady)
        {
            throw new RequestRejectedException(
                StatusCodes.Status503ServiceUnavailable,
                models.Failure ?? "The models are still loading: retry shortly (GET /readyz answers 200 once they are).",
                code: models.Failure is null ? "model_loading" : "model_unavailable")
            { RetryAfterSeconds = 5 };
        }

        return models.Find(name) ?? throw new RequestRejectedException(
            StatusCodes.Status400BadRequest,
            $"Unknown model '{name}': this server serves {string.Join(", ", options.Models.Select(m => $"'{m.Name}'"))}.",
            field,
            "model_not_found");
    }

    /// <summary>Builds the engine request; an <see cref="ArgumentException"/> it throws becomes a 400 naming the client's field.</summary>
    public static GenerationRequest Build(Func<GenerationRequest> build, IReadOnlyDictionary<string, string> fieldNames)
    {
        try
        {
            var request = build();
            request.Validate();
            return request;
        }
        catch (ArgumentException e)
        {
            var field = e.ParamName is { } name && fieldNames.TryGetValue(name, out var mapped) ? mapped : e.ParamName ?? "body";
            throw RequestRejectedException.Invalid(field, e.Message);
        }
    }

    /// <summary>An engine failure as an error response: the engine's refusal of an argument is the client's 400, the rest 500.</summary>
    public static RequestRejectedException FromEngine(NativeDiffusionException error) =>
        error.ErrorCode == NativeErrorCode.InvalidArgument
            ? new RequestRejectedException(StatusCodes.Status400BadRequest, error.Message, code: "invalid_value")
            : new RequestRejectedException(StatusCodes.Status500InternalServerError, error.Message, code: "engine_error");

    private static void CheckSide(int value, string field)
    {
        if (value is < GenerationRequest.MinSide or > GenerationRequest.MaxSide || value % 8 != 0)
        {
            var lower = Math.Clamp(value / 8 * 8, GenerationRequest.MinSide, GenerationRequest.MaxSide);
            var upper = Math.Clamp(lower + 8, GenerationRequest.MinSide, GenerationRequest.MaxSide);
            throw RequestRejectedException.Invalid(
                field, $"{field} must be a multiple of 8 from {GenerationRequest.MinSide} to {GenerationRequest.MaxSide}, got {value} (the nearest are {lower} and {upper}).");
        }
    }
}
