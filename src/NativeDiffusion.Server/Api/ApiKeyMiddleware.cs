using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using NativeDiffusion.Server.Configuration;

namespace NativeDiffusion.Server.Api;

/// <summary>
/// With <see cref="ServerOptions.ApiKey"/> set, answers 401 to any request without <c>Authorization: Bearer KEY</c>, except
/// the health probes and the page's static files (which hold no data; the page sends the key it is given).
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, IOptions<ServerOptions> options)
{
    private readonly byte[]? _key = options.Value.ApiKey is { } key ? Encoding.UTF8.GetBytes(key) : null;

    public Task InvokeAsync(HttpContext context)
    {
        if (_key is null || IsOpen(context.Request.Path) || HasKey(context.Request))
        {
            return next(context);
        }

        return ErrorResponses.WriteAsync(
            context,
            new Jobs.RequestRejectedException(StatusCodes.Status401Unauthorized, "Missing or wrong API key: send the header 'Authorization: Bearer KEY'.", code: "invalid_api_key"));
    }

    private static bool IsOpen(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz")
        || path == "/" || path.Equals("/index.html", StringComparison.OrdinalIgnoreCase) || path.Equals("/app.js", StringComparison.OrdinalIgnoreCase);

    private bool HasKey(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, _key);
    }
}
