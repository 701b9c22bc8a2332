using NativeDiffusion.Images;

namespace NativeDiffusion;

/// <summary>Which random number generator makes the noise, so that a seed gives the image another tool gives.</summary>
public enum NoiseSource
{
    /// <summary>PyTorch's CPU generator (MT19937): what diffusers gives on a CPU (the default).</summary>
    Cpu = 0,

    /// <summary>PyTorch's CUDA generator (Philox): what most web UIs give for a seed (their "GPU" RNG).</summary>
    Cuda = 1,
}

/// <summary>
/// One generation: a prompt and how to sample it. Every property is checked when it is set, and the request as a whole
/// by <see cref="Validate"/> (which <see cref="DiffusionModel.GenerateAsync"/> calls); a bad value is an
/// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is the property's name.
/// </summary>
/// <remarks>
/// Seeds: <see cref="Seed"/> 0 or more is used as given; <see cref="RandomSeed"/> (-1, the default) draws a seed in
/// [0, 2^32) for each call, as the web UI does, and the image's <see cref="GenerationSettings.Seed"/> says which. A batch
/// of <see cref="BatchCount"/> images uses seeds <c>seed</c>, <c>seed + 1</c>, ...
/// </remarks>
public sealed record GenerationRequest
{
    /// <summary>The <see cref="Seed"/> that asks for a random seed.</summary>
    public const long RandomSeed = -1;

    /// <summary>The smallest side, in pixels.</summary>
    public const int MinSide = 64;

    /// <summary>The largest side, in pixels.</summary>
    public const int MaxSide = 4096;

    /// <summary>The most sampling steps.</summary>
    public const int MaxSteps = 1000;

    /// <summary>The largest CFG scale.</summary>
    public const double MaxCfgScale = 100;

    /// <summary>The most images in one batch.</summary>
    public const int MaxBatchCount = 64;

    /// <summary>The prompt, with the web UI's weighting syntax: <c>(word:1.2)</c>, <c>[word]</c>, <c>BREAK</c>.</summary>
    public required string Prompt
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(Prompt));
    }

    /// <summary>The negative prompt; empty (the default) for none.</summary>
    public string NegativePrompt
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(NegativePrompt));
    } = string.Empty;

    /// <summary>The width in pixels: a multiple of 8 from 64 to 4096; default 512. For img2img, the init image's width.</summary>
    public int Width
    {
        get;
        init => field = CheckSide(value, nameof(Width));
    } = 512;

    /// <summary>The height in pixels: a multiple of 8 from 64 to 4096; default 512. For img2img, the init image's height.</summary>
    public int Height
    {
        get;
        init => field = CheckSide(value, nameof(Height));
    } = 512;

    /// <summary>Sampling steps, 1 to 1000; default 20. For img2img, <see cref="Strength"/> of them run.</summary>
    public int Steps
    {
        get;
        init
        {
            if (value is < 1 or > MaxSteps)
            {
                throw new ArgumentOutOfRangeException(nameof(Steps), value, $"Steps must be 1 to {MaxSteps}.");
            }

            field = value;
        }
    } = 20;

    /// <summary>The classifier-free guidance scale, a finite number from 0 to 100; default 7. 1 skips the unconditional pass.</summary>
    public double CfgScale
    {
        get;
        init
        {
            if (!double.IsFinite(value) || value < 0 || value > MaxCfgScale)
            {
                throw new ArgumentOutOfRangeException(nameof(CfgScale), value, $"CfgScale must be a finite number from 0 to {MaxCfgScale}.");
            }

            field = value;
        }
    } = 7;

    /// <summary>The sampler, one of <see cref="Samplers.Names"/>; default <see cref="Samplers.EulerAncestral"/>.</summary>
    public string Sampler
    {
        get;
        init => field = Samplers.IsKnown(value)
            ? value
            : throw new ArgumentException($"Unknown sampler '{value}': use one of {string.Join(", ", Samplers.Names)}.", nameof(Sampler));
    } = Samplers.EulerAncestral;

    /// <summary>The noise schedule, one of <see cref="Schedules.Names"/>; default <see cref="Schedules.Default"/> (the sampler's own).</summary>
    public string Schedule
    {
        get;
        init => field = Schedules.IsKnown(value)
            ? value
            : throw new ArgumentException($"Unknown schedule '{value}': use one of {string.Join(", ", Schedules.Names)}.", nameof(Schedule));
    } = Schedules.Default;

    /// <summary>
    /// How timesteps are spaced, one of <see cref="TimestepSpacings.Names"/>; null (the default): the sampler's own
    /// (<c>leading</c> for DDIM and LCM, <c>linspace</c> for the others, as diffusers' schedulers default).
    /// </summary>
    public string? TimestepSpacing
    {
        get;
        init => field = value is null || TimestepSpacings.Names.Contains(value, StringComparer.Ordinal)
            ? value
            : throw new ArgumentException(
                $"Unknown timestep spacing '{value}': use one of {string.Join(", ", TimestepSpacings.Names)}, or null for the sampler's own.",
                nameof(TimestepSpacing));
    }

    /// <summary>The largest seed: a batch's seeds (seed + 63 at most) stay within a <see cref="long"/>.</summary>
    public const long MaxSeed = long.MaxValue - MaxBatchCount;

    /// <summary>The seed: 0 to <see cref="MaxSeed"/> as given, or <see cref="RandomSeed"/> (-1, the default) for a random one.</summary>
    public long Seed
    {
        get;
        init
        {
            if (value is < RandomSeed or > MaxSeed)
            {
                throw new ArgumentOutOfRangeException(nameof(Seed), value, $"Seed must be 0 to {MaxSeed}, or -1 for a random seed.");
            }

            field = value;
        }
    } = RandomSeed;

    /// <summary>The random number generator of the noise; default <see cref="NoiseSource.Cpu"/>.</summary>
    public NoiseSource Rng
    {
        get;
        init => field = Enum.IsDefined(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Rng), value, "Rng must be NoiseSource.Cpu or NoiseSource.Cuda.");
    } = NoiseSource.Cpu;

    /// <summary>How many images to make, 1 to 64 (seeds <c>seed</c>, <c>seed + 1</c>, ...); default 1.</summary>
    public int BatchCount
    {
        get;
        init
        {
            if (value is < 1 or > MaxBatchCount)
            {
                throw new ArgumentOutOfRangeException(nameof(BatchCount), value, $"BatchCount must be 1 to {MaxBatchCount}.");
            }

            field = value;
        }
    } = 1;

    /// <summary>
    /// CLIP skip as the web UI counts it: 0 (the default) for the model's own, 1 for the last text-encoder layer, 2 for the
    /// penultimate, ... up to 12.
    /// </summary>
    public int ClipSkip
    {
        get;
        init
        {
            if (value is < 0 or > 12)
            {
                throw new ArgumentOutOfRangeException(nameof(ClipSkip), value, "ClipSkip must be 0 (the model's default) or 1 to 12.");
            }

            field = value;
        }
    }

    /// <summary>For img2img: the image to start from, of exactly <see cref="Width"/> x <see cref="Height"/> pixels; null (the default) for txt2img.</summary>
    public InputImage? InitImage { get; init; }

    /// <summary>For img2img: how much of <see cref="InitImage"/> is replaced by noise, in (0, 1]; default 0.75.</summary>
    public double Strength
    {
        get;
        init
        {
            if (!double.IsFinite(value) || value <= 0 || value > 1)
            {
                throw new ArgumentOutOfRangeException(nameof(Strength), value, "Strength must be more than 0 and at most 1.");
            }

            field = value;
        }
    } = 0.75;

    /// <summary>Sampling steps between previews; 0 (the default) for none. Previews come from a cheap linear map of the latents.</summary>
    public int PreviewInterval
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(PreviewInterval));
            field = value;
        }
    }

    /// <summary>
    /// Checks what single properties cannot: that <see cref="InitImage"/> has the request's size and that the steps
    /// <see cref="Strength"/> leaves are at least one.
    /// </summary>
    /// <exception cref="ArgumentException">The request is inconsistent; <see cref="ArgumentException.ParamName"/> names the property.</exception>
    public void Validate()
    {
        if (Prompt is null)
        {
            throw new ArgumentNullException(nameof(Prompt));
        }

        if (InitImage is { } image)
        {
            if (image.Width != Width || image.Height != Height)
            {
                throw new ArgumentException(
                    $"InitImage is {image.Width}x{image.Height} but the request is {Width}x{Height}: set Width and Height to the image's size, "
                    + "or load the image with InputImageOptions.ResizeTo.",
                    nameof(InitImage));
            }

            // As the engine counts: int(steps * strength) steps run, strength read as the decimal typed.
            if ((int)(Steps * Math.Round(Strength, 6)) < 1)
            {
                throw new ArgumentException(
                    $"Strength {Strength} with {Steps} steps leaves no step to run: Steps x Strength must be at least 1.", nameof(Strength));
            }
        }
    }

    private static int CheckSide(int value, string name)
    {
        if (value is < MinSide or > MaxSide || value % 8 != 0)
        {
            var lower = Math.Clamp(value / 8 * 8, MinSide, MaxSide);
            var upper = Math.Clamp(lower + 8, MinSide, MaxSide);
            throw new ArgumentOutOfRangeException(
                name, value, $"{name} must be a multiple of 8 from {MinSide} to {MaxSide} (the nearest are {lower} and {upper}).");
        }

        return value;
    }
}
