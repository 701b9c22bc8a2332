namespace NativeDiffusion.Hosting;

/// <summary>
/// The models an app uses, by name: what <c>services.AddNativeDiffusion(configuration)</c>
/// binds from configuration (by default the section <see cref="DefaultSectionName"/>) and checks when the host starts.
/// These option classes have setters, not <c>init</c>, because the configuration binder (source-generated) sets them.
/// </summary>
/// <example>
/// <code language="json">
/// "NativeDiffusion": {
///   "DefaultModel": "sd15",
///   "Models": {
///     "sd15": {
///       "Path": "models/sd15.gguf",
///       "WeightType": "Q8_0",
///       "Defaults": { "Width": 512, "Height": 512, "Steps": 20, "Sampler": "euler_a" }
///     }
///   }
/// }
/// </code>
/// </example>
public sealed class NativeDiffusionOptions
{
    /// <summary>The configuration section read by default: <c>NativeDiffusion</c>.</summary>
    public const string DefaultSectionName = "NativeDiffusion";

    /// <summary>The models by name (names compare ignoring case, as configuration keys do).</summary>
    public Dictionary<string, DiffusionModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The model that the unkeyed <c>IImageGenerator</c> uses; null: the only model when there is one (with several,
    /// the unkeyed generator needs <c>ImageGenerationOptions.ModelId</c>).
    /// </summary>
    public string? DefaultModel { get; set; }

    /// <summary>The name of the model used when none is named: <see cref="DefaultModel"/>, else the only model, else null.</summary>
    internal string? ResolveDefaultModel() => DefaultModel ?? (Models.Count == 1 ? Models.Keys.First() : null);
}
