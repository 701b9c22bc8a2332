using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using NativeDiffusion.Images;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api.WebUi;

/// <summary>The AUTOMATIC1111 web UI API (<c>/sdapi/v1/...</c>): the endpoints its clients use to generate and watch.</summary>
internal static class WebUiEndpoints
{
    public static void MapWebUiApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/sdapi/v1").WithTags("AUTOMATIC1111 web UI API");
        api.MapPost("/txt2img", (Delegate)((HttpContext context) => GenerateAsync(context, img2img: false)))
            .Accepts<WebUiRequest>("application/json")
            .Produces<WebUiImagesResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Generates images from a prompt, as the web UI's txt2img.");
        api.MapPost("/img2img", (Delegate)((HttpContext context) => GenerateAsync(context, img2img: true)))
            .Accepts<WebUiRequest>("application/json")
            .Produces<WebUiImagesResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary("Generates images from a prompt and init_images[0], as the web UI's img2img.");
        api.MapGet("/progress", Progress).WithSummary("Where the running job stands, with a preview (current_image).");
        api.MapPost("/interrupt", (GenerationQueue queue) =>
        {
            queue.InterruptRunning();
            return Results.Json(new JsonObject());
        }).WithSummary("Stops the running job; queued jobs go on.");
        api.MapGet("/samplers", () => Results.Json(WebUiNames.SamplerTable.Select(s => new
        {
            name = s.Name,
            aliases = s.Aliases,
            options = s.SecondOrder ? new Dictionary<string, string> { ["second_order"] = "True" } : [],
        })));
        api.MapGet("/schedulers", () => Results.Json(WebUiNames.SchedulerTable.Select(s => new
        {
            name = s.Name,
            label = s.Label,
            aliases = (string[]?)null,
            default_rho = s.DefaultRho,
            need_inner_model = false,
        }), JsonBody.Options));
        api.MapGet("/sd-models", (ModelStore models) => Results.Json(models.All.Select(m => new
        {
            title = m.Title,
            model_name = m.Name,
            hash = m.ShortHash,
            sha256 = m.Sha256,
            filename = m.FileName,
            config = (string?)null,
        }), JsonBody.Options));
        api.MapGet("/options", (ModelStore models, IOptions<ServerOptions> options) =>
        {
            var model = models.Find(null);
            return Results.Json(new JsonObject
            {
                ["sd_model_checkpoint"] = model?.Title ?? options.Value.DefaultModel,
                ["sd_checkpoint_hash"] = model?.Sha256,
                ["sd_vae"] = "Automatic",
                ["samples_format"] = "png",
                ["CLIP_stop_at_last_layers"] = 1,
                ["randn_source"] = "GPU",
                ["show_progress_every_n_steps"] = options.Value.PreviewInterval,
                ["live_previews_enable"] = options.Value.PreviewInterval > 0,
            }, JsonBody.Options);
        });
    }

    private static async Task<IResult> GenerateAsync(HttpContext context, bool img2img)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<IOptions<ServerOptions>>().Value;
        try
        {
            var (json, body) = await JsonBody.ReadAsync<WebUiRequest>(context).ConfigureAwait(false);
            var resolved = WebUiGeneration.Map(body, json, img2img, options, services.GetRequiredService<ModelStore>(), services.GetRequiredService<GenerationQueue>());
            var job = new GenerationJob(resolved.Model, resolved.Request, context.RequestAborted);
            var images = await services.GetRequiredService<GenerationQueue>().RunAsync(job).ConfigureAwait(false);
            return Results.Json(WebUiGeneration.Respond(images, resolved, job.Started ?? job.Queued));
        }
        catch (RequestRejectedException e)
        {
            return ErrorResponses.ToResult(e);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client is gone
        }
        catch (NativeDiffusionException e)
        {
            return ErrorResponses.ToResult(RequestLimits.FromEngine(e));
        }
    }

    private static IResult Progress(GenerationQueue queue, [FromQuery(Name = "skip_current_image")] bool? skipCurrentImage)
    {
        var job = queue.Current;
        if (job is null)
        {
            return Results.Json(new JsonObject
            {
                ["progress"] = 0.0,
                ["eta_relative"] = 0.0,
                ["state"] = State(null, null, queue),
                ["current_image"] = null,
                ["textinfo"] = null,
            }, JsonBody.Options);
        }

        var snapshot = job.Progress.Current;
        var preview = skipCurrentImage == true || snapshot.Preview is null
            ? null
            : Convert.ToBase64String(snapshot.Preview.Encode(ImageFormat.Png));
        return Results.Json(new JsonObject
        {
            ["progress"] = snapshot.Fraction,
            ["eta_relative"] = snapshot.EtaSeconds ?? 0.0,
            ["state"] = State(job, snapshot, queue),
            ["current_image"] = preview,
            ["textinfo"] = $"{snapshot.Stage}: step {snapshot.Step} of {snapshot.Steps}, image {snapshot.Image + 1} of {snapshot.Images}",
        }, JsonBody.Options);
    }

    private static JsonObject State(GenerationJob? job, JobProgress.Snapshot? snapshot, GenerationQueue queue) => new()
    {
        ["skipped"] = false,
        ["interrupted"] = job?.Interrupted ?? false,
        ["stopping_generation"] = queue.IsStopping,
        ["job"] = job is null ? string.Empty : $"job {job.Id}",
        ["job_count"] = snapshot?.Images ?? 0,
        ["job_timestamp"] = (job?.Started ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture),
        ["job_no"] = snapshot?.Image ?? 0,
        ["sampling_step"] = snapshot?.Step ?? 0,
        ["sampling_steps"] = snapshot?.Steps ?? 0,
        ["queued"] = queue.Queued,
    };
}

/// <summary>The web UI's txt2img/img2img response, for the OpenAPI document.</summary>
/// <param name="images">Base64 PNGs.</param>
/// <param name="parameters">The request, with defaults filled in.</param>
/// <param name="info">A JSON object, as a string: seeds, infotexts, model...</param>
internal sealed record WebUiImagesResponse(IReadOnlyList<string> images, JsonObject parameters, string info);
