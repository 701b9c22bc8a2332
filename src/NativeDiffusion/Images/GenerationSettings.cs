using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace NativeDiffusion.Images;

/// <summary>
/// The settings that made an image, in the terms of the AUTOMATIC1111 web UI, whose text form ("infotext", kept in a
/// PNG's <c>parameters</c> text chunk) other tools read and write too: <see cref="ToInfotext"/> writes it exactly as the
/// UI does, <see cref="TryParseInfotext"/> reads it back, from this library or from the UI.
/// </summary>
/// <remarks>
/// Sampler and schedule names are the UI's (<c>Euler a</c>, <c>DPM++ 2M</c>; <c>Karras</c>, <c>Automatic</c>), so that the
/// text means the same thing to every tool that reads it. Everything the UI writes that has no property here (VAE, hires
/// fix, LoRA hashes, extensions' keys) is kept, in order, in <see cref="ExtraParameters"/>, so reading and writing an
/// infotext loses nothing but the form of numbers (<c>CFG scale: 7.0</c> is written back as <c>CFG scale: 7</c>) and
/// the position of extras the UI writes among its own keys that it does not know (they move after them).
/// </remarks>
public sealed record GenerationSettings
{
    /// <summary>The prompt (may span lines).</summary>
    public required string Prompt
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(Prompt));
    }

    /// <summary>The negative prompt; empty for none.</summary>
    public string NegativePrompt
    {
        get;
        init => field = value ?? throw new ArgumentNullException(nameof(NegativePrompt));
    } = string.Empty;

    /// <summary>The number of sampling steps (<c>Steps</c>), at least 1.</summary>
    public required int Steps
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Steps));
            field = value;
        }
    }

    /// <summary>The sampler, by the web UI's name (<c>Sampler</c>): <c>Euler a</c>, <c>Euler</c>, <c>DPM++ 2M</c>, <c>DDIM</c>...</summary>
    public required string Sampler
    {
        get;
        init => field = RequireText(value, nameof(Sampler));
    }

    /// <summary>The noise schedule, by the web UI's name (<c>Schedule type</c>): <c>Karras</c>, <c>Exponential</c>, <c>Automatic</c>...; null when not recorded.</summary>
    public string? ScheduleType
    {
        get;
        init => field = value is null ? null : RequireText(value, nameof(ScheduleType));
    }

    /// <summary>The classifier-free guidance scale (<c>CFG scale</c>); a finite number.</summary>
    public required double CfgScale
    {
        get;
        init
        {
            if (!double.IsFinite(value))
            {
                throw new ArgumentOutOfRangeException(nameof(CfgScale), value, "The CFG scale must be a finite number.");
            }

            field = value;
        }
    }

    /// <summary>The seed of the initial noise (<c>Seed</c>).</summary>
    public required long Seed { get; init; }

    /// <summary>The width the model generated at, in pixels (<c>Size</c>; with hires fix, the first pass).</summary>
    public required int Width
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Width));
            field = value;
        }
    }

    /// <summary>The height the model generated at, in pixels (<c>Size</c>; with hires fix, the first pass).</summary>
    public required int Height
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Height));
            field = value;
        }
    }

    /// <summary>The model's short hash as the web UI shows it (<c>Model hash</c>: the first 10 hex digits of the file's SHA-256); null when unknown.</summary>
    public string? ModelHash
    {
        get;
        init => field = value is null ? null : RequireText(value, nameof(ModelHash));
    }

    /// <summary>The model's name (<c>Model</c>: the file name without extension); null when unknown.</summary>
    public string? ModelName
    {
        get;
        init => field = value is null ? null : RequireText(value, nameof(ModelName));
    }

    /// <summary>How many of CLIP's last layers were skipped, plus one (<c>Clip skip</c>); 1 (the default, not written) uses the last layer.</summary>
    public int ClipSkip
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(ClipSkip));
            field = value;
        }
    } = 1;

    /// <summary>For img2img (and hires fix), how much of the input was replaced by noise (<c>Denoising strength</c>), 0 to 1; null for txt2img.</summary>
    public double? DenoisingStrength
    {
        get;
        init
        {
            if (value is { } v && !(v >= 0 && v <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(DenoisingStrength), value, "The denoising strength must be between 0 and 1.");
            }

            field = value;
        }
    }

    /// <summary>The program that made the image (<c>Version</c>), e.g. <c>NativeDiffusion 0.1.0</c> or the web UI's <c>v1.10.1</c>; null when not recorded.</summary>
    public string? Version
    {
        get;
        init => field = value is null ? null : RequireText(value, nameof(Version));
    }

    /// <summary>
    /// The other <c>Key: value</c> pairs, in order, with their values unquoted (e.g. <c>VAE</c>, <c>Hires upscale</c>,
    /// <c>Lora hashes</c>). A key must be one the infotext format can carry (a letter, digit or underscore, then those,
    /// spaces, <c>-</c> or <c>/</c>; two characters at least), appear once, and not be one of the keys above.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraParameters
    {
        get;
        init => field = ValidateExtras(value);
    } = [];

    /// <summary>
    /// The settings in the web UI's infotext form: the prompt, <c>Negative prompt: ...</c> on its own line when there is
    /// one, then <c>Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512, ...</c>, in
    /// the UI's key order, with values that contain a comma, colon or newline written as JSON strings.
    /// </summary>
    public string ToInfotext()
    {
        var known = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Steps"] = Steps.ToString(CultureInfo.InvariantCulture),
            ["Sampler"] = Sampler,
            ["CFG scale"] = Infotext.FormatNumber(CfgScale),
            ["Seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["Size"] = string.Create(CultureInfo.InvariantCulture, $"{Width}x{Height}"),
        };
        AddIfSet(known, "Schedule type", ScheduleType);
        AddIfSet(known, "Model hash", ModelHash);
        AddIfSet(known, "Model", ModelName);
        AddIfSet(known, "Denoising strength", DenoisingStrength is { } d ? Infotext.FormatNumber(d) : null);
        AddIfSet(known, "Clip skip", ClipSkip > 1 ? ClipSkip.ToString(CultureInfo.InvariantCulture) : null);
        AddIfSet(known, "Version", Version);

        var extras = ExtraParameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var ordered = new List<KeyValuePair<string, string>>();
        void Take(string key)
        {
            if (known.Remove(key, out var value) || extras.Remove(key, out value))
            {
                ordered.Add(new(key, value));
            }
        }

        foreach (var key in Infotext.LeadingKeys)
        {
            Take(key);
        }

        foreach (var pair in ExtraParameters)
        {
            if (!Infotext.TrailingKeys.Contains(pair.Key))
            {
                Take(pair.Key);
            }
        }

        foreach (var key in Infotext.TrailingKeys)
        {
            Take(key);
        }

        var parameters = string.Join(", ", ordered.Select(p => p.Key == p.Value ? p.Key : $"{p.Key}: {Infotext.Quote(p.Value)}"));
        var negative = NegativePrompt.Length > 0 ? $"\n{Infotext.NegativePromptPrefix} {NegativePrompt}" : string.Empty;
        return $"{Prompt}{negative}\n{parameters}".Trim();
    }

    /// <summary>
    /// Reads settings from infotext (as <see cref="ToInfotext"/> or the web UI writes it). Returns false when the text has
    /// no parameters line (fewer than three <c>Key: value</c> pairs on its last line), lacks one of <c>Steps</c>,
    /// <c>Sampler</c>, <c>CFG scale</c>, <c>Seed</c> and <c>Size</c>, or has a value that does not read as its type.
    /// </summary>
    /// <param name="infotext">The text, e.g. a PNG's <c>parameters</c> chunk.</param>
    /// <param name="settings">The settings read, or null.</param>
    public static bool TryParseInfotext(string? infotext, [NotNullWhen(true)] out GenerationSettings? settings)
    {
        settings = infotext is null ? null : Parse(infotext, out _);
        return settings is not null;
    }

    /// <summary>Reads settings from infotext, as <see cref="TryParseInfotext"/> does.</summary>
    /// <exception cref="FormatException">The text is not infotext; the message says what is missing or which value does not read.</exception>
    public static GenerationSettings ParseInfotext(string infotext)
    {
        ArgumentNullException.ThrowIfNull(infotext);
        return Parse(infotext, out var error) ?? throw new FormatException($"Not generation settings in the web UI's format: {error}");
    }

    /// <summary>Whether the two hold the same settings, comparing <see cref="ExtraParameters"/> pair by pair.</summary>
    public bool Equals(GenerationSettings? other) =>
        other is not null
        && Prompt == other.Prompt && NegativePrompt == other.NegativePrompt && Steps == other.Steps
        && Sampler == other.Sampler && ScheduleType == other.ScheduleType && CfgScale.Equals(other.CfgScale)
        && Seed == other.Seed && Width == other.Width && Height == other.Height && ModelHash == other.ModelHash
        && ModelName == other.ModelName && ClipSkip == other.ClipSkip && DenoisingStrength.Equals(other.DenoisingStrength)
        && Version == other.Version && ExtraParameters.SequenceEqual(other.ExtraParameters);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Prompt, Steps, Sampler, CfgScale, Seed, Width, Height);

    /// <summary>The infotext (<see cref="ToInfotext"/>).</summary>
    public override string ToString() => ToInfotext();

    private static readonly HashSet<string> s_knownKeys = new(StringComparer.Ordinal)
    {
        "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "Denoising strength",
        "Clip skip", "Version",
    };

    private static GenerationSettings? Parse(string infotext, out string error)
    {
        var lines = infotext.Trim().Split('\n');
        var last = lines[^1];
        var pairs = Infotext.ScanParameters(last);
        if (pairs.Count < 3)
        {
            error = "the last line has fewer than three \"Key: value\" pairs, so there is no parameters line.";
            return null;
        }

        var prompt = new StringBuilder();
        var negative = new StringBuilder();
        var inNegative = false;
        foreach (var raw in lines[..^1])
        {
            var line = raw.Trim();
            if (line.StartsWith(Infotext.NegativePromptPrefix, StringComparison.Ordinal))
            {
                inNegative = true;
                line = line[Infotext.NegativePromptPrefix.Length..].Trim();
            }

            var target = inNegative ? negative : prompt;
            if (target.Length > 0)
            {
                target.Append('\n');
            }

            target.Append(line);
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var extras = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in pairs)
        {
            if (s_knownKeys.Contains(key))
            {
                values[key] = value; // a repeated key: the last one counts, as in the web UI
            }
            else
            {
                extras.RemoveAll(p => p.Key == key);
                extras.Add(new(key, value));
            }
        }

        foreach (var required in new[] { "Steps", "Sampler", "CFG scale", "Seed", "Size" })
        {
            if (!values.ContainsKey(required))
            {
                error = $"the parameters line has no \"{required}\".";
                return null;
            }
        }

        if (!TryInt(values["Steps"], out var steps) || steps < 1)
        {
            error = $"Steps \"{values["Steps"]}\" is not a positive whole number.";
            return null;
        }

        if (!TryDouble(values["CFG scale"], out var cfg))
        {
            error = $"CFG scale \"{values["CFG scale"]}\" is not a number.";
            return null;
        }

        if (!long.TryParse(values["Seed"].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed))
        {
            error = $"Seed \"{values["Seed"]}\" is not a whole number.";
            return null;
        }

        var size = values["Size"].Trim().Split('x');
        if (size.Length != 2 || !TryInt(size[0], out var width) || !TryInt(size[1], out var height) || width < 1 || height < 1)
        {
            error = $"Size \"{values["Size"]}\" is not WIDTHxHEIGHT in pixels.";
            return null;
        }

        var clipSkip = 1;
        if (values.TryGetValue("Clip skip", out var clipText) && (!TryInt(clipText, out clipSkip) || clipSkip < 1))
        {
            error = $"Clip skip \"{clipText}\" is not a positive whole number.";
            return null;
        }

        double? denoising = null;
        if (values.TryGetValue("Denoising strength", out var denoisingText))
        {
            if (!TryDouble(denoisingText, out var d) || d is < 0 or > 1)
            {
                error = $"Denoising strength \"{denoisingText}\" is not a number between 0 and 1.";
                return null;
            }

            denoising = d;
        }

        if (values["Sampler"].Trim().Length == 0)
        {
            error = "Sampler is empty.";
            return null;
        }

        error = string.Empty;
        return new GenerationSettings
        {
            Prompt = prompt.ToString(),
            NegativePrompt = negative.ToString(),
            Steps = steps,
            Sampler = values["Sampler"].Trim(),
            ScheduleType = NullIfBlank(values.GetValueOrDefault("Schedule type")),
            CfgScale = cfg,
            Seed = seed,
            Width = width,
            Height = height,
            ModelHash = NullIfBlank(values.GetValueOrDefault("Model hash")),
            ModelName = NullIfBlank(values.GetValueOrDefault("Model")),
            ClipSkip = clipSkip,
            DenoisingStrength = denoising,
            Version = NullIfBlank(values.GetValueOrDefault("Version")),
            ExtraParameters = extras.Where(p => Infotext.IsValidKey(p.Key)).ToList(),
        };
    }

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool TryDouble(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string? NullIfBlank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static void AddIfSet(Dictionary<string, string> values, string key, string? value)
    {
        if (value is not null)
        {
            values[key] = value;
        }
    }

    private static string RequireText(string? value, string name)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        if (string.IsNullOrWhiteSpace(value) || value != value.Trim())
        {
            throw new ArgumentException($"{name} must be non-empty text without leading or trailing white space, not \"{value}\".", name);
        }

        return value;
    }

    private static IReadOnlyList<KeyValuePair<string, string>> ValidateExtras(IReadOnlyList<KeyValuePair<string, string>>? extras)
    {
        ArgumentNullException.ThrowIfNull(extras, nameof(ExtraParameters));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in extras)
        {
            if (key is null || !Infotext.IsValidKey(key))
            {
                throw new ArgumentException($"\"{key}\" cannot be an infotext key: it must start with a letter, digit or underscore and hold only those, spaces, '-' or '/' (two characters at least).", nameof(ExtraParameters));
            }

            if (s_knownKeys.Contains(key))
            {
                throw new ArgumentException($"\"{key}\" has a property of its own; set that instead of an extra parameter.", nameof(ExtraParameters));
            }

            if (!seen.Add(key))
            {
                throw new ArgumentException($"The extra parameter \"{key}\" appears twice.", nameof(ExtraParameters));
            }

            ArgumentNullException.ThrowIfNull(value, nameof(ExtraParameters));
        }

        return Array.AsReadOnly(extras.ToArray());
    }
}
