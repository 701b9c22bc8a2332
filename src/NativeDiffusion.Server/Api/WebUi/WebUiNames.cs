using System.Collections.Frozen;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api.WebUi;

/// <summary>The web UI's sampler and scheduler names and the engine's, both ways.</summary>
internal static class WebUiNames
{
    /// <summary>The sampler the web UI's API uses when a request names none (its <c>sampler_index</c> default).</summary>
    public const string DefaultSampler = "Euler";

    /// <summary>Each sampler: the web UI's name, the engine's, the web UI's aliases, whether it evaluates the model twice a step.</summary>
    public static IReadOnlyList<(string Name, string Engine, string[] Aliases, bool SecondOrder)> SamplerTable { get; } =
    [
        ("DPM++ 2M", Samplers.DpmPlusPlus2M, ["k_dpmpp_2m"], false),
        ("DPM++ SDE", Samplers.DpmPlusPlusSde, ["k_dpmpp_sde"], true),
        ("DPM++ 2S a", Samplers.DpmPlusPlus2SAncestral, ["k_dpmpp_2s_a"], true),
        ("Euler a", Samplers.EulerAncestral, ["k_euler_a", "k_euler_ancestral"], false),
        ("Euler", Samplers.Euler, ["k_euler"], false),
        ("Heun", Samplers.Heun, ["k_heun"], true),
        ("DPM2", Samplers.Dpm2, ["k_dpm_2"], true),
        ("DDIM", Samplers.Ddim, [], false),
        ("LCM", Samplers.Lcm, ["k_lcm"], false),
    ];

    /// <summary>Each scheduler: the web UI's name and label, the engine's schedule, Karras' rho where it has one.</summary>
    public static IReadOnlyList<(string Name, string Label, string Engine, double? DefaultRho)> SchedulerTable { get; } =
    [
        ("automatic", "Automatic", Schedules.Default, null),
        ("karras", "Karras", Schedules.Karras, 7.0),
        ("exponential", "Exponential", Schedules.Exponential, null),
        ("sgm_uniform", "SGM Uniform", Schedules.SgmUniform, null),
    ];

    private static readonly FrozenDictionary<string, string> s_samplers = BuildSamplers();
    private static readonly FrozenDictionary<string, string> s_schedulers = BuildSchedulers();

    /// <summary>
    /// The engine's sampler and schedule for a web-UI sampler name (<c>Euler a</c>, an alias, the engine's own name, or
    /// the older combined form <c>DPM++ 2M Karras</c>) and scheduler (name or label; null or empty for automatic).
    /// </summary>
    /// <exception cref="RequestRejectedException">400 naming <c>sampler_name</c> or <c>scheduler</c>.</exception>
    public static (string Sampler, string Schedule) Resolve(string? samplerName, string? scheduler, string samplerField)
    {
        var name = string.IsNullOrWhiteSpace(samplerName) ? DefaultSampler : samplerName.Trim();
        string? impliedSchedule = null;
        if (!s_samplers.TryGetValue(name, out var sampler))
        {
            // Before schedulers had their own field the web UI wrote them into the sampler's name.
            foreach (var (_, label, engine, _) in SchedulerTable)
            {
                if (name.EndsWith(" " + label, StringComparison.OrdinalIgnoreCase)
                    && s_samplers.TryGetValue(name[..^(label.Length + 1)], out var bare))
                {
                    sampler = bare;
                    impliedSchedule = engine;
                    break;
                }
            }

            if (sampler is null)
            {
                throw RequestRejectedException.Invalid(
                    samplerField, $"Unknown sampler '{samplerName}': use one of {string.Join(", ", SamplerTable.Select(s => $"'{s.Name}'"))} (GET /sdapi/v1/samplers).");
            }
        }

        var schedule = impliedSchedule ?? Schedules.Default;
        if (!string.IsNullOrWhiteSpace(scheduler) && !s_schedulers.TryGetValue(scheduler.Trim(), out schedule))
        {
            throw RequestRejectedException.Invalid(
                "scheduler", $"Unknown scheduler '{scheduler}': use one of {string.Join(", ", SchedulerTable.Select(s => $"'{s.Label}'"))} (GET /sdapi/v1/schedulers).");
        }

        if (schedule != Schedules.Default && sampler is Samplers.Ddim or Samplers.Lcm)
        {
            // They step between the model's training timesteps, so no other sigma schedule applies.
            throw RequestRejectedException.Invalid("scheduler", $"The sampler '{samplerName}' only runs with the 'Automatic' scheduler, not '{scheduler ?? schedule}'.");
        }

        return (sampler, schedule);
    }

    private static FrozenDictionary<string, string> BuildSamplers()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, engine, aliases, _) in SamplerTable)
        {
            map[name] = engine;
            map[engine] = engine;
            foreach (var alias in aliases)
            {
                map[alias] = engine;
            }
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private static FrozenDictionary<string, string> BuildSchedulers()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, label, engine, _) in SchedulerTable)
        {
            map[name] = engine;
            map[label] = engine;
            map[engine] = engine;
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
