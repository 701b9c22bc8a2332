using System.Globalization;
using System.Text.Json.Nodes;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api;

/// <summary>
/// Writes a <see cref="RequestRejectedException"/> in the shape the client's API family expects: OpenAI's
/// <c>{"error": {"message", "type", "param", "code"}}</c> under <c>/v1/</c>; elsewhere an RFC 9457 problem-details object
/// that also carries the web UI's error fields (<c>error</c>, <c>detail</c>, <c>body</c>, <c>errors</c>) and the
/// <c>field</c> at fault. 429 and 503 carry <c>Retry-After</c>.
/// </summary>
internal static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, RequestRejectedException error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        }

        if (error.Status == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            return response.WriteAsJsonAsync(OpenAiError(error), JsonBody.Options, "application/json");
        }

        return response.WriteAsJsonAsync(Problem(error, context), JsonBody.Options, "application/problem+json");
    }

    /// <summary>The same as an <see cref="IResult"/>, for endpoint handlers.</summary>
    public static IResult ToResult(RequestRejectedException error) => new ErrorResult(error);

    private static JsonObject OpenAiError(RequestRejectedException error) => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = error.Message,
            ["type"] = error.Status switch
            {
                StatusCodes.Status401Unauthorized => "invalid_request_error",
                StatusCodes.Status429TooManyRequests => "rate_limit_error",
                >= 500 => "server_error",
                _ => "invalid_request_error",
            },
            ["param"] = error.Field,
            ["code"] = error.Code,
        },
    };

    private static JsonObject Problem(RequestRejectedException error, HttpContext context) => new()
    {
        ["type"] = $"https://www.rfc-editor.org/rfc/rfc9110#status.{error.Status}",
        ["title"] = ReasonPhrase(error.Status),
        ["status"] = error.Status,
        ["detail"] = error.Message,
        ["instance"] = context.Request.Path.Value,
        ["field"] = error.Field,
        ["code"] = error.Code,
        // The web UI's own error fields, so its clients read these as they read its errors.
        ["error"] = error.Status == StatusCodes.Status400BadRequest ? "ValidationError" : "HTTPException",
        ["body"] = string.Empty,
        ["errors"] = error.Field is null ? error.Message : $"{error.Field}: {error.Message}",
    };

    private static string ReasonPhrase(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";

    private sealed class ErrorResult(RequestRejectedException error) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, error);
    }
}
