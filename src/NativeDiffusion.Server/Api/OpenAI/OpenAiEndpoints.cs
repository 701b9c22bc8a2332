using Microsoft.Extensions.Options;
using NativeDiffusion.Images;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api.OpenAI;

/// <summary>OpenAI's Images API: <c>POST /v1/images/generations</c> with <c>b64_json</c> results.</summary>
internal static class OpenAiEndpoints
{
    private static readonly Dictionary<string, string> s_fieldNames = new(StringComparer.Ordinal)
    {
        [nameof(GenerationRequest.Prompt)] = "prompt",
        [nameof(GenerationRequest.NegativePrompt)] = "negative_prompt",
        [nameof(GenerationRequest.BatchCount)] = "n",
        [nameof(GenerationRequest.Seed)] = "seed",
        [nameof(GenerationRequest.Width)] = "size",
        [nameof(GenerationRequest.Height)] = "size",
    };

    public static void MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/images/generations", (Delegate)GenerateAsync)
            .WithTags("OpenAI Images API")
            .Accepts<OpenAiImageRequest>("application/json")
            .Produces<OpenAiImagesResponse>()
            .WithSummary("Generates images as OpenAI's Images API does (response_format b64_json).");
    }

    private static async Task<IResult> GenerateAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<IOptions<ServerOptions>>().Value;
        try
        {
            var (_, body) = await JsonBody.ReadAsync<OpenAiImageRequest>(context).ConfigureAwait(false);
            if (string.IsNullOrWhiteSpace(body.Prompt))
            {
                throw new RequestRejectedException(StatusCodes.Status400BadRequest, "prompt is required.", "prompt", "missing_required_parameter");
            }

            if (body.ResponseFormat is { } format && format != "b64_json")
            {
                throw new RequestRejectedException(
                    StatusCodes.Status400BadRequest,
                    format == "url"
                        ? "response_format 'url' is not supported: this server keeps no images to link to. Use 'b64_json' (the default)."
                        : $"Invalid response_format '{format}': use 'b64_json'.",
                    "response_format",
                    "unsupported_value");
            }

            var imageFormat = body.OutputFormat?.ToLowerInvariant() switch
            {
                null or "png" => ImageFormat.Png,
                "jpeg" or "jpg" => ImageFormat.Jpeg,
                "webp" => ImageFormat.Webp,
                var other => throw new RequestRejectedException(
                    StatusCodes.Status400BadRequest, $"Invalid output_format '{other}': use png, jpeg or webp.", "output_format", "unsupported_value"),
            };

            var model = RequestLimits.FindModel(services.GetRequiredService<ModelStore>(), services.GetRequiredService<GenerationQueue>(), options, body.Model, "model");
            var (width, height) = OpenAiSizes.Map(body.Size, model.Options, options);
            var count = body.N ?? 1;
            RequestLimits.CheckBatch(options, count, "n", "n");
            RequestLimits.CheckSize(options, width, height, "size", "size");
            RequestLimits.CheckSeed(body.Seed ?? -1, "seed");
            var request = RequestLimits.Build(
                () => new GenerationRequest
                {
                    Prompt = body.Prompt,
                    NegativePrompt = body.NegativePrompt ?? string.Empty,
                    Width = width,
                    Height = height,
                    Steps = Math.Min(model.Options.DefaultSteps, options.MaxSteps),
                    CfgScale = model.Options.DefaultCfgScale,
                    Sampler = model.Options.DefaultSampler,
                    Seed = body.Seed ?? -1,
                    Rng = NoiseSource.Cuda,
                    BatchCount = count,
                    PreviewInterval = options.PreviewInterval,
                },
                s_fieldNames);

            var job = new GenerationJob(model, request, context.RequestAborted);
            var images = await services.GetRequiredService<GenerationQueue>().RunAsync(job).ConfigureAwait(false);
            var data = images
                .Select(i => i.WithSettings(i.Settings! with { ModelName = model.Name, ModelHash = model.ShortHash }))
                .Select(i => new OpenAiImage(Convert.ToBase64String(i.Encode(imageFormat))))
                .ToList();
            return Results.Json(new OpenAiImagesResponse(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), data), JsonBody.Options);
        }
        catch (RequestRejectedException e)
        {
            return ErrorResponses.ToResult(e);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty;
        }
        catch (NativeDiffusionException e)
        {
            return ErrorResponses.ToResult(RequestLimits.FromEngine(e));
        }
    }
}
