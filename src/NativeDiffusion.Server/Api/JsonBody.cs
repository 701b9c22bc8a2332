using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api;

/// <summary>Reads a JSON request body within <see cref="ServerOptions.MaxRequestBodyBytes"/>, naming the field that does not read.</summary>
internal static class JsonBody
{
    /// <summary>Web defaults (case-insensitive names, numbers in strings allowed); nulls are written, as the web UI writes them.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>The body as a JSON object, and the same deserialised as <typeparamref name="T"/>.</summary>
    /// <exception cref="RequestRejectedException">413 for a body over the limit, 400 for one that is not a JSON object of <typeparamref name="T"/>'s shape.</exception>
    public static async Task<(JsonObject Json, T Value)> ReadAsync<T>(HttpContext context)
        where T : class
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<ServerOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) as JsonObject
                ?? throw RequestRejectedException.Invalid("body", "The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw RequestRejectedException.Invalid("body", $"The request body is not valid JSON: {e.Message}");
        }

        try
        {
            var value = json.Deserialize<T>(Options) ?? throw RequestRejectedException.Invalid("body", "The request body must be a JSON object.");
            return (json, value);
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : "body";
            throw RequestRejectedException.Invalid(field, $"The field '{field}' has the wrong type: {e.Message}");
        }
    }

    private static RequestRejectedException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the server's limit of {limit} bytes (MaxRequestBodyBytes).", "body", "body_too_large");
}
