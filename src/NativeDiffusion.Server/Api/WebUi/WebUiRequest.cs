using System.Text.Json;
using System.Text.Json.Serialization;

namespace NativeDiffusion.Server.Api.WebUi;

/// <summary>
/// The fields of the web UI's <c>txt2img</c> and <c>img2img</c> requests this server reads, under the web UI's names and
/// with its defaults (null: the default). Fields it does not know are ignored, as the web UI ignores them.
/// </summary>
internal sealed record WebUiRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }

    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; init; }

    [JsonPropertyName("styles")] public IReadOnlyList<string>? Styles { get; init; }

    [JsonPropertyName("seed")] public long? Seed { get; init; }

    [JsonPropertyName("sampler_name")] public string? SamplerName { get; init; }

    [JsonPropertyName("sampler_index")] public string? SamplerIndex { get; init; }

    [JsonPropertyName("scheduler")] public string? Scheduler { get; init; }

    [JsonPropertyName("batch_size")] public int? BatchSize { get; init; }

    [JsonPropertyName("n_iter")] public int? NIter { get; init; }

    [JsonPropertyName("steps")] public int? Steps { get; init; }

    [JsonPropertyName("cfg_scale")] public double? CfgScale { get; init; }

    [JsonPropertyName("width")] public int? Width { get; init; }

    [JsonPropertyName("height")] public int? Height { get; init; }

    [JsonPropertyName("enable_hr")] public bool? EnableHr { get; init; }

    [JsonPropertyName("send_images")] public bool? SendImages { get; init; }

    [JsonPropertyName("script_name")] public string? ScriptName { get; init; }

    [JsonPropertyName("override_settings")] public IReadOnlyDictionary<string, JsonElement>? OverrideSettings { get; init; }

    [JsonPropertyName("init_images")] public IReadOnlyList<string>? InitImages { get; init; }

    [JsonPropertyName("denoising_strength")] public double? DenoisingStrength { get; init; }

    [JsonPropertyName("mask")] public string? Mask { get; init; }
}
