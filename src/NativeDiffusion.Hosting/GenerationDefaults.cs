namespace NativeDiffusion.Hosting;

/// <summary>
/// A model's default request values, bound from configuration. Each has <see cref="GenerationRequest"/>'s default and
/// range; they are checked when the host starts.
/// </summary>
public sealed class GenerationDefaults
{
    /// <summary>The negative prompt; empty for none.</summary>
    public string NegativePrompt { get; set; } = string.Empty;

    /// <summary>The width in pixels (a multiple of 8 from 64 to 4096); default 512.</summary>
    public int Width { get; set; } = 512;

    /// <summary>The height in pixels (a multiple of 8 from 64 to 4096); default 512.</summary>
    public int Height { get; set; } = 512;

    /// <summary>Sampling steps, 1 to 1000; default 20.</summary>
    public int Steps { get; set; } = 20;

    /// <summary>The classifier-free guidance scale, 0 to 100; default 7.</summary>
    public double CfgScale { get; set; } = 7;

    /// <summary>The sampler, one of <see cref="Samplers.Names"/>; default <see cref="Samplers.EulerAncestral"/>.</summary>
    public string Sampler { get; set; } = Samplers.EulerAncestral;

    /// <summary>The noise schedule, one of <see cref="Schedules.Names"/>; default <see cref="Schedules.Default"/>.</summary>
    public string Schedule { get; set; } = Schedules.Default;

    /// <summary>The seed: 0 or more, or -1 (the default) for a random seed per call.</summary>
    public long Seed { get; set; } = GenerationRequest.RandomSeed;

    /// <summary>The random number generator of the noise; default <see cref="NoiseSource.Cpu"/>.</summary>
    public NoiseSource Rng { get; set; } = NoiseSource.Cpu;

    /// <summary>CLIP skip as the web UI counts it: 0 (the default) for the model's own, 1 to 12.</summary>
    public int ClipSkip { get; set; }

    /// <summary>A request for <paramref name="prompt"/> with these values.</summary>
    /// <exception cref="ArgumentException">A value is out of range (<see cref="ArgumentException.ParamName"/> names the property).</exception>
    public GenerationRequest CreateRequest(string prompt) => new()
    {
        Prompt = prompt,
        NegativePrompt = NegativePrompt,
        Width = Width,
        Height = Height,
        Steps = Steps,
        CfgScale = CfgScale,
        Sampler = Sampler,
        Schedule = Schedule,
        Seed = Seed,
        Rng = Rng,
        ClipSkip = ClipSkip,
    };
}
