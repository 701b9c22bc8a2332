using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NativeDiffusion.Images;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api.WebUi;

/// <summary>Turns a web-UI txt2img/img2img request into an engine request, and images into the web UI's response.</summary>
internal static class WebUiGeneration
{
    private const int DefaultSteps = 50; // the web UI API's default (its UI's is 20)
    private const double DefaultCfgScale = 7;
    private const int DefaultSide = 512;
    private const double DefaultDenoisingStrength = 0.75;

    private static readonly Dictionary<string, string> s_fieldNames = new(StringComparer.Ordinal)
    {
        [nameof(GenerationRequest.Prompt)] = "prompt",
        [nameof(GenerationRequest.NegativePrompt)] = "negative_prompt",
        [nameof(GenerationRequest.Width)] = "width",
        [nameof(GenerationRequest.Height)] = "height",
        [nameof(GenerationRequest.Steps)] = "steps",
        [nameof(GenerationRequest.CfgScale)] = "cfg_scale",
        [nameof(GenerationRequest.Seed)] = "seed",
        [nameof(GenerationRequest.BatchCount)] = "batch_size",
        [nameof(GenerationRequest.ClipSkip)] = "override_settings.CLIP_stop_at_last_layers",
        [nameof(GenerationRequest.InitImage)] = "init_images[0]",
        [nameof(GenerationRequest.Strength)] = "denoising_strength",
    };

    /// <summary>The model and engine request for <paramref name="request"/>, and the web UI's <c>parameters</c> echo.</summary>
    /// <exception cref="RequestRejectedException">400 naming the field at fault.</exception>
    public static WebUiJob Map(
        WebUiRequest request, JsonObject json, bool img2img, ServerOptions options, ModelStore models, GenerationQueue queue)
    {
        if (request.EnableHr == true)
        {
            throw RequestRejectedException.Invalid("enable_hr", "Hires fix is not supported by this server: leave enable_hr false.");
        }

        if (!string.IsNullOrEmpty(request.ScriptName))
        {
            throw RequestRejectedException.Invalid("script_name", $"Scripts are not supported by this server: '{request.ScriptName}' cannot run.");
        }

        if (request.Mask is { Length: > 0 })
        {
            throw RequestRejectedException.Invalid("mask", "Inpainting (mask) is not supported by this server yet: send img2img without a mask.");
        }

        var overrides = request.OverrideSettings ?? new Dictionary<string, JsonElement>();
        var modelName = Setting(overrides, "sd_model_checkpoint");
        var model = RequestLimits.FindModel(models, queue, options, modelName, "override_settings.sd_model_checkpoint");
        var samplerField = request.SamplerName is null && request.SamplerIndex is not null ? "sampler_index" : "sampler_name";
        var (sampler, schedule) = WebUiNames.Resolve(request.SamplerName ?? request.SamplerIndex, request.Scheduler, samplerField);

        var width = request.Width ?? DefaultSide;
        var height = request.Height ?? DefaultSide;
        var steps = request.Steps ?? DefaultSteps;
        var cfg = request.CfgScale ?? DefaultCfgScale;
        var batchSize = request.BatchSize ?? 1;
        var iterations = request.NIter ?? 1;
        var seed = request.Seed ?? -1;
        RequestLimits.CheckSize(options, width, height, "width", "height");
        RequestLimits.CheckSteps(options, steps, "steps");
        RequestLimits.CheckCfgScale(options, cfg, "cfg_scale");
        RequestLimits.CheckBatch(options, batchSize, "batch_size", "batch_size");
        RequestLimits.CheckBatch(options, iterations, "n_iter", "n_iter");
        RequestLimits.CheckBatch(options, batchSize * iterations, "batch_size", "batch_size x n_iter");
        RequestLimits.CheckSeed(seed, "seed");

        var clipSkip = 0;
        if (Setting(overrides, "CLIP_stop_at_last_layers") is { } clip)
        {
            if (!int.TryParse(clip, CultureInfo.InvariantCulture, out clipSkip) || clipSkip is < 1 or > 12)
            {
                throw RequestRejectedException.Invalid("override_settings.CLIP_stop_at_last_layers", $"CLIP_stop_at_last_layers must be 1 to 12, got '{clip}'.");
            }
        }

        var rng = Setting(overrides, "randn_source") switch
        {
            null or "GPU" or "NV" => NoiseSource.Cuda, // the web UI's default: seeds give the images it gives
            "CPU" => NoiseSource.Cpu,
            var other => throw RequestRejectedException.Invalid("override_settings.randn_source", $"randn_source must be 'GPU', 'CPU' or 'NV', got '{other}'."),
        };

        InputImage? init = null;
        var strength = request.DenoisingStrength ?? DefaultDenoisingStrength;
        if (img2img)
        {
            init = DecodeInitImage(request.InitImages, width, height);
            if (!double.IsFinite(strength) || strength <= 0 || strength > 1)
            {
                throw RequestRejectedException.Invalid("denoising_strength", $"denoising_strength must be more than 0 and at most 1, got {strength.ToString(CultureInfo.InvariantCulture)}.");
            }
        }

        var engineRequest = RequestLimits.Build(
            () => new GenerationRequest
            {
                Prompt = request.Prompt ?? string.Empty,
                NegativePrompt = request.NegativePrompt ?? string.Empty,
                Width = width,
                Height = height,
                Steps = steps,
                CfgScale = cfg,
                Sampler = sampler,
                Schedule = schedule,
                Seed = seed,
                Rng = rng,
                BatchCount = batchSize * iterations,
                ClipSkip = clipSkip,
                InitImage = init,
                Strength = img2img ? strength : 0.75,
                PreviewInterval = options.PreviewInterval,
            },
            s_fieldNames);

        var parameters = new JsonObject
        {
            ["prompt"] = engineRequest.Prompt,
            ["negative_prompt"] = engineRequest.NegativePrompt,
            ["styles"] = new JsonArray(),
            ["seed"] = seed,
            ["subseed"] = -1,
            ["subseed_strength"] = 0,
            ["sampler_name"] = request.SamplerName ?? request.SamplerIndex ?? WebUiNames.DefaultSampler,
            ["sampler_index"] = request.SamplerIndex ?? WebUiNames.DefaultSampler,
            ["scheduler"] = request.Scheduler,
            ["batch_size"] = batchSize,
            ["n_iter"] = iterations,
            ["steps"] = steps,
            ["cfg_scale"] = cfg,
            ["width"] = width,
            ["height"] = height,
            ["restore_faces"] = null,
            ["tiling"] = null,
            ["override_settings"] = new JsonObject(),
            ["send_images"] = true,
            ["save_images"] = false,
            ["alwayson_scripts"] = new JsonObject(),
            ["script_name"] = null,
            ["script_args"] = new JsonArray(),
        };
        if (img2img)
        {
            parameters["denoising_strength"] = strength;
            parameters["resize_mode"] = 0;
            parameters["mask"] = null;
        }

        foreach (var (key, value) in json)
        {
            parameters[key] = value?.DeepClone();
        }

        if (img2img)
        {
            parameters["init_images"] = null; // as the web UI: the inputs are not sent back
        }

        return new WebUiJob(model, engineRequest, parameters, batchSize, request.SendImages ?? true);
    }

    /// <summary>The web UI's response: base64 PNGs (with their <c>parameters</c> chunk), the request echo and <c>info</c> as a JSON string.</summary>
    public static JsonObject Respond(IReadOnlyList<GeneratedImage> images, WebUiJob job, DateTimeOffset started)
    {
        var (model, request, parameters, batchSize, sendImages) = job;
        var settings = images.Select(i => i.Settings!).ToList();
        var seeds = settings.Select(s => s.Seed).ToList();
        var first = settings[0];
        var extras = new JsonObject();
        foreach (var (key, value) in first.ExtraParameters)
        {
            extras[key] = value;
        }

        if (first.ScheduleType is { } scheduleType)
        {
            extras["Schedule type"] = scheduleType;
        }

        var info = new JsonObject
        {
            ["prompt"] = request.Prompt,
            ["all_prompts"] = ToArray(settings.Select(_ => request.Prompt)),
            ["negative_prompt"] = request.NegativePrompt,
            ["all_negative_prompts"] = ToArray(settings.Select(_ => request.NegativePrompt)),
            ["seed"] = seeds[0],
            ["all_seeds"] = ToArray(seeds),
            ["subseed"] = -1,
            ["all_subseeds"] = ToArray(seeds.Select(_ => -1L)),
            ["subseed_strength"] = 0,
            ["width"] = request.Width,
            ["height"] = request.Height,
            ["sampler_name"] = first.Sampler,
            ["cfg_scale"] = request.CfgScale,
            ["steps"] = request.Steps,
            ["batch_size"] = batchSize,
            ["restore_faces"] = false,
            ["face_restoration_model"] = null,
            ["sd_model_name"] = model.Name,
            ["sd_model_hash"] = model.ShortHash,
            ["sd_vae_name"] = null,
            ["sd_vae_hash"] = null,
            ["seed_resize_from_w"] = -1,
            ["seed_resize_from_h"] = -1,
            ["denoising_strength"] = request.InitImage is null ? null : request.Strength,
            ["extra_generation_params"] = extras,
            ["index_of_first_image"] = 0,
            ["infotexts"] = ToArray(images.Select(i => InfotextFor(i, model))),
            ["styles"] = new JsonArray(),
            ["job_timestamp"] = started.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
            ["clip_skip"] = first.ClipSkip,
            ["is_using_inpainting_conditioning"] = false,
            ["version"] = first.Version,
        };

        return new JsonObject
        {
            ["images"] = sendImages ? ToArray(images.Select(i => Convert.ToBase64String(WithModel(i, model).Encode(ImageFormat.Png)))) : new JsonArray(),
            ["parameters"] = parameters,
            ["info"] = info.ToJsonString(),
        };
    }

    private static string InfotextFor(GeneratedImage image, ServedModel model) => WithModel(image, model).Settings!.ToInfotext();

    // The infotext names the model as clients chose it, with the web UI's short hash.
    private static GeneratedImage WithModel(GeneratedImage image, ServedModel model) =>
        image.WithSettings(image.Settings! with { ModelName = model.Name, ModelHash = model.ShortHash });

    private static InputImage DecodeInitImage(IReadOnlyList<string>? images, int width, int height)
    {
        if (images is not { Count: > 0 } || string.IsNullOrEmpty(images[0]))
        {
            throw RequestRejectedException.Invalid("init_images", "img2img needs init_images: a list with one base64-encoded PNG, JPEG or WebP image.");
        }

        var text = images[0];
        if (text.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = text.IndexOf(',', StringComparison.Ordinal);
            text = comma >= 0 ? text[(comma + 1)..] : string.Empty;
        }

        byte[] data;
        try
        {
            data = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw RequestRejectedException.Invalid("init_images[0]", "init_images[0] is not valid base64 (a data: URL or plain base64 of a PNG, JPEG or WebP image).");
        }

        try
        {
            // As the web UI's default resize mode: the image is stretched to the requested size.
            return InputImage.Decode(data, new InputImageOptions { SizeMode = InputSizeMode.ResizeTo, Width = width, Height = height });
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw RequestRejectedException.Invalid("init_images[0]", $"init_images[0] is not an image this server reads: {e.Message}");
        }
    }

    private static string? Setting(IReadOnlyDictionary<string, JsonElement> overrides, string key) =>
        overrides.TryGetValue(key, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        } : null;

    private static JsonArray ToArray<T>(IEnumerable<T> values) => new([.. values.Select(v => JsonValue.Create(v))]);
}

/// <summary>A web-UI request resolved: the model, the engine request, the <c>parameters</c> echo and what the response needs.</summary>
internal sealed record WebUiJob(ServedModel Model, GenerationRequest Request, JsonObject Parameters, int BatchSize, bool SendImages);
