using System.Text.Json;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

/// <summary>
/// The web UI API's response shapes, written from its OpenAPI document (modules/api/models.py: TextToImageResponse,
/// ProgressResponse, SamplerItem, SchedulerItem, SDModelItem) and from what its <c>info</c> string and progress
/// <c>state</c> hold (Processed.js() and State.dict() in its source).
/// </summary>
internal static class WebUiShapes
{
    public static readonly string[] ImagesResponse = ["images", "parameters", "info"];

    public static readonly string[] Info =
    [
        "prompt", "all_prompts", "negative_prompt", "all_negative_prompts", "seed", "all_seeds", "subseed", "all_subseeds",
        "subseed_strength", "width", "height", "sampler_name", "cfg_scale", "steps", "batch_size", "restore_faces",
        "face_restoration_model", "sd_model_name", "sd_model_hash", "sd_vae_name", "sd_vae_hash", "seed_resize_from_w",
        "seed_resize_from_h", "denoising_strength", "extra_generation_params", "index_of_first_image", "infotexts", "styles",
        "job_timestamp", "clip_skip", "is_using_inpainting_conditioning", "version",
    ];

    public static readonly string[] Progress = ["progress", "eta_relative", "state", "current_image", "textinfo"];

    public static readonly string[] ProgressState =
        ["skipped", "interrupted", "stopping_generation", "job", "job_count", "job_timestamp", "job_no", "sampling_step", "sampling_steps"];

    public static readonly string[] Sampler = ["name", "aliases", "options"];

    public static readonly string[] Scheduler = ["name", "label", "aliases", "default_rho", "need_inner_model"];

    public static readonly string[] SdModel = ["title", "model_name", "hash", "sha256", "filename", "config"];

    /// <summary>The web UI's error body (its api_middleware's handle_exception).</summary>
    public static readonly string[] Error = ["error", "detail", "body", "errors"];

    /// <summary>Asserts that <paramref name="json"/> has every key of <paramref name="keys"/> (extra keys are allowed).</summary>
    public static void AssertHasKeys(JsonObject json, IEnumerable<string> keys, string what)
    {
        var missing = keys.Where(k => !json.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0, $"{what} lacks {string.Join(", ", missing)}: {json.ToJsonString()}");
    }

    /// <summary>Asserts that <paramref name="json"/> has exactly <paramref name="keys"/>.</summary>
    public static void AssertExactKeys(JsonObject json, IEnumerable<string> keys, string what)
    {
        Assert.Equal(keys.Order(StringComparer.Ordinal), json.Select(p => p.Key).Order(StringComparer.Ordinal));
        _ = what;
    }

    /// <summary>A 400 problem-details body that carries the web UI's error fields and names <paramref name="field"/>.</summary>
    public static void AssertValidationError(JsonObject body, string field)
    {
        AssertHasKeys(body, ["type", "title", "status", "detail", .. Error, "field"], "the error body");
        Assert.Equal(400, body["status"]!.GetValue<int>());
        Assert.Equal(field, body["field"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.String, body["errors"]!.GetValueKind());
    }
}
