namespace NativeDiffusion.Hosting.ImageGeneration;

/// <summary>
/// Keys of <c>ImageGenerationOptions.AdditionalProperties</c> that <see cref="DiffusionImageGenerator"/> reads; each
/// overrides the model's <see cref="GenerationDefaults"/>.
/// </summary>
public static class DiffusionImageGenerationProperties
{
    /// <summary>The seed (an integer, 0 or more; -1 for a random one). Images of a batch get seed, seed + 1...</summary>
    public const string Seed = "seed";

    /// <summary>The negative prompt (a string).</summary>
    public const string NegativePrompt = "negative_prompt";

    /// <summary>Sampling steps (an integer, 1 to 1000).</summary>
    public const string Steps = "steps";

    /// <summary>The classifier-free guidance scale (a number, 0 to 100).</summary>
    public const string CfgScale = "cfg_scale";

    /// <summary>The sampler (one of <see cref="Samplers.Names"/>).</summary>
    public const string Sampler = "sampler";
}
