using Microsoft.Extensions.Options;
using NativeDiffusion.Server.Api;
using NativeDiffusion.Server.Api.OpenAI;
using NativeDiffusion.Server.Api.WebUi;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server;

/// <summary>How the sample wires itself: services and options, then the middleware and endpoints.</summary>
internal static class ServerSetup
{
    public static WebApplicationBuilder AddGenerationServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ServerOptions>()
            .Bind(builder.Configuration)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServerOptions>, ServerOptionsValidator>();
        services.AddSingleton<ModelStore>();
        services.AddSingleton<GenerationQueue>();
        services.AddHostedService<GenerationWorker>();
        services.AddOpenApi();

        // Kestrel's own limit, from the same setting (the handlers check it too, for hosts without Kestrel).
        services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IOptions<ServerOptions>>((kestrel, server) => kestrel.Limits.MaxRequestBodySize = server.Value.MaxRequestBodyBytes);

        // Running jobs get the grace period, and a little more to answer.
        services.AddOptions<HostOptions>()
            .Configure<IOptions<ServerOptions>>((host, server) => host.ShutdownTimeout = server.Value.ShutdownGracePeriod + TimeSpan.FromSeconds(10));
        return builder;
    }

    public static WebApplication MapGenerationServer(this WebApplication app)
    {
        // Anything unforeseen is a 500 in the client's API shape, without the exception's details.
        app.UseExceptionHandler(handler => handler.Run(context => ErrorResponses.WriteAsync(
            context,
            new RequestRejectedException(StatusCodes.Status500InternalServerError, "The server failed to handle the request; its log says why.", code: "internal_error"))));
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapOpenApi();
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" })).WithTags("Health");
        app.MapGet("/readyz", (ModelStore models, GenerationQueue queue) =>
            models.IsReady && !queue.IsStopping
                ? Results.Json(new { status = "ready", models = models.All.Select(m => m.Name) })
                : Results.Json(
                    new { status = queue.IsStopping ? "stopping" : models.Failure is null ? "loading" : "failed", detail = models.Failure },
                    statusCode: StatusCodes.Status503ServiceUnavailable)).WithTags("Health");
        app.MapWebUiApi();
        app.MapOpenAiApi();
        return app;
    }
}
