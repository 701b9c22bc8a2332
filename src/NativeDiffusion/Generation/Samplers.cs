using System.Collections.Frozen;

namespace NativeDiffusion;

/// <summary>The samplers the engine has, by the names <see cref="GenerationRequest.Sampler"/> takes.</summary>
public static class Samplers
{
    /// <summary>Euler (k-diffusion's Euler; diffusers' EulerDiscreteScheduler).</summary>
    public const string Euler = "euler";

    /// <summary>Euler ancestral (the engine's default).</summary>
    public const string EulerAncestral = "euler_a";

    /// <summary>Heun (two model evaluations a step).</summary>
    public const string Heun = "heun";

    /// <summary>DPM2 (two model evaluations a step).</summary>
    public const string Dpm2 = "dpm2";

    /// <summary>DPM++ 2M (multistep).</summary>
    public const string DpmPlusPlus2M = "dpmpp_2m";

    /// <summary>DPM++ 2S ancestral.</summary>
    public const string DpmPlusPlus2SAncestral = "dpmpp_2s_a";

    /// <summary>DPM++ SDE.</summary>
    public const string DpmPlusPlusSde = "dpmpp_sde";

    /// <summary>DDIM.</summary>
    public const string Ddim = "ddim";

    /// <summary>LCM (for latent-consistency models and LoRAs).</summary>
    public const string Lcm = "lcm";

    private static readonly FrozenDictionary<string, string> s_displayNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Euler] = "Euler",
        [EulerAncestral] = "Euler a",
        [Heun] = "Heun",
        [Dpm2] = "DPM2",
        [DpmPlusPlus2M] = "DPM++ 2M",
        [DpmPlusPlus2SAncestral] = "DPM++ 2S a",
        [DpmPlusPlusSde] = "DPM++ SDE",
        [Ddim] = "DDIM",
        [Lcm] = "LCM",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every sampler name, in the engine's order.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [Euler, EulerAncestral, Heun, Dpm2, DpmPlusPlus2M, DpmPlusPlus2SAncestral, DpmPlusPlusSde, Ddim, Lcm];

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Names"/> (exact, lower case).</summary>
    public static bool IsKnown(string? name) => name is not null && s_displayNames.ContainsKey(name);

    /// <summary>The web UI's name of a sampler (<c>Euler a</c> for <c>euler_a</c>, <c>DPM++ 2M</c> for <c>dpmpp_2m</c>), as infotexts record it.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="Names"/>.</exception>
    public static string DisplayName(string name) =>
        name is not null && s_displayNames.TryGetValue(name, out var display)
            ? display
            : throw new ArgumentException($"Unknown sampler '{name}': use one of {string.Join(", ", Names)}.", nameof(name));
}

/// <summary>The noise schedules the engine has, by the names <see cref="GenerationRequest.Schedule"/> takes.</summary>
public static class Schedules
{
    /// <summary>The sampler's own schedule (the default).</summary>
    public const string Default = "default";

    /// <summary>Karras et al.'s sigmas.</summary>
    public const string Karras = "karras";

    /// <summary>Sigmas spaced evenly in log space.</summary>
    public const string Exponential = "exponential";

    /// <summary>SGM's uniform timesteps.</summary>
    public const string SgmUniform = "sgm_uniform";

    /// <summary>Every schedule name.</summary>
    public static IReadOnlyList<string> Names { get; } = [Default, Karras, Exponential, SgmUniform];

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Names"/> (exact, lower case).</summary>
    public static bool IsKnown(string? name) => name is not null && Names.Contains(name, StringComparer.Ordinal);

    /// <summary>
    /// The web UI's name of a schedule (<c>Schedule type</c> in infotexts): <c>Karras</c>, <c>Exponential</c>,
    /// <c>SGM Uniform</c>; null for <see cref="Default"/>, which the web UI does not record.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="Names"/>.</exception>
    public static string? DisplayName(string name) => name switch
    {
        Default => null,
        Karras => "Karras",
        Exponential => "Exponential",
        SgmUniform => "SGM Uniform",
        _ => throw new ArgumentException($"Unknown schedule '{name}': use one of {string.Join(", ", Names)}.", nameof(name)),
    };
}

/// <summary>The timestep spacings <see cref="GenerationRequest.TimestepSpacing"/> takes (diffusers' <c>timestep_spacing</c>).</summary>
public static class TimestepSpacings
{
    /// <summary>Evenly spaced over the training steps, ending at the last (Euler's and DPM-Solver's default).</summary>
    public const string Linspace = "linspace";

    /// <summary>Multiples of training steps / steps, plus the offset (DDIM's and LCM's default).</summary>
    public const string Leading = "leading";

    /// <summary>Counted back from the last training step.</summary>
    public const string Trailing = "trailing";

    /// <summary>Every spacing name.</summary>
    public static IReadOnlyList<string> Names { get; } = [Linspace, Leading, Trailing];
}
