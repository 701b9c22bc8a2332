using System.Text.Json.Serialization;

namespace NativeDiffusion.Server.Api.OpenAI;

/// <summary>The fields of OpenAI's <c>POST /v1/images/generations</c> this server reads (others are ignored).</summary>
internal sealed record OpenAiImageRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; init; }

    [JsonPropertyName("model")] public string? Model { get; init; }

    [JsonPropertyName("n")] public int? N { get; init; }

    [JsonPropertyName("size")] public string? Size { get; init; }

    [JsonPropertyName("response_format")] public string? ResponseFormat { get; init; }

    [JsonPropertyName("output_format")] public string? OutputFormat { get; init; }

    /// <summary>Not OpenAI's: the seed of the first image (others follow it), for reproducible results. -1 or absent: random.</summary>
    [JsonPropertyName("seed")] public long? Seed { get; init; }

    /// <summary>Not OpenAI's: a negative prompt.</summary>
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; init; }
}

/// <summary>OpenAI's images response.</summary>
internal sealed record OpenAiImagesResponse(
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("data")] IReadOnlyList<OpenAiImage> Data);

/// <summary>One image of <see cref="OpenAiImagesResponse"/>.</summary>
internal sealed record OpenAiImage(
    [property: JsonPropertyName("b64_json")] string B64Json,
    [property: JsonPropertyName("revised_prompt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RevisedPrompt = null);
