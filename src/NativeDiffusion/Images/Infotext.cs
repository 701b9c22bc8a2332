using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NativeDiffusion.Images;

/// <summary>
/// The text format in which the AUTOMATIC1111 web UI (and the tools that follow it) records how an image was made:
/// the prompt, a <c>Negative prompt: </c> line when there is one, then one line of <c>Key: value</c> pairs joined by
/// <c>, </c>. A value that contains a comma, a colon or a newline is written as a JSON string.
/// </summary>
internal static class Infotext
{
    /// <summary>The prefix of the negative prompt's line.</summary>
    public const string NegativePromptPrefix = "Negative prompt:";

    /// <summary>
    /// The keys the web UI writes before the free-form extras, in its order. Known keys of <see cref="GenerationSettings"/>
    /// and extras with these names are written at these places; other extras follow; <c>Version</c> and <c>User</c> end the line.
    /// </summary>
    public static readonly ImmutableArray<string> LeadingKeys =
    [
        "Steps", "Sampler", "Schedule type", "CFG scale", "Image CFG scale", "Seed", "Face restoration", "Size",
        "Model hash", "Model", "FP8 weight", "Cache FP16 weight for LoRA", "VAE hash", "VAE", "Variation seed",
        "Variation seed strength", "Seed resize from", "Denoising strength", "Conditional mask weight", "Clip skip",
        "ENSD", "Token merging ratio", "Token merging ratio hr", "Init image hash", "RNG", "Tiling",
    ];

    /// <summary>The keys the web UI writes last, in its order.</summary>
    public static readonly ImmutableArray<string> TrailingKeys = ["Version", "User"];

    /// <summary>
    /// The value as the web UI writes it: unchanged unless it contains a comma, a colon or a newline, else a JSON string
    /// (non-ASCII characters kept as they are, control characters escaped).
    /// </summary>
    public static string Quote(string value)
    {
        if (value.AsSpan().IndexOfAny(",:\n") < 0)
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < ' ')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    /// <summary>A value as read: a complete JSON string is decoded, anything else (or a JSON string that does not decode) is kept as it is.</summary>
    public static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
        {
            return value;
        }

        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(value));
            if (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString();
                if (text is not null && !reader.Read())
                {
                    return text;
                }
            }
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        return value;
    }

    /// <summary>
    /// A number as the web UI shows it: whole numbers without a fractional part (<c>7</c>), others in their shortest
    /// round-trip form (<c>7.5</c>, <c>0.65</c>, <c>1e-05</c>).
    /// </summary>
    public static string FormatNumber(double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
        {
            return ((long)value).ToString(CultureInfo.InvariantCulture);
        }

        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>
    /// The <c>Key: value</c> pairs of a parameters line, as the web UI finds them: a key starts with a letter, digit or
    /// underscore and continues with those, spaces, <c>-</c> or <c>/</c> (two characters at least) up to a colon; the value
    /// is a JSON string when one ends right before a comma or the end of the line, else everything up to the next comma.
    /// Text between pairs that does not form a pair is skipped. Values are returned unquoted.
    /// </summary>
    public static List<KeyValuePair<string, string>> ScanParameters(string line)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        var pos = 0;
        while (pos < line.Length)
        {
            if (TryMatchPair(line, pos, out var key, out var value, out var end))
            {
                pairs.Add(new(key, value));
                pos = end;
            }
            else
            {
                pos++;
            }
        }

        return pairs;
    }

    /// <summary>Whether <paramref name="key"/> is a key that <see cref="ScanParameters"/> can read back.</summary>
    public static bool IsValidKey(string key) =>
        key.Length >= 2 && IsWordChar(key[0]) && key.All(c => IsWordChar(c) || c is ' ' or '-' or '/')
        && key == key.TrimEnd();

    private static bool TryMatchPair(string line, int start, out string key, out string value, out int end)
    {
        key = value = string.Empty;
        end = start;

        var pos = start;
        while (pos < line.Length && char.IsWhiteSpace(line[pos]))
        {
            pos++;
        }

        // The key: one word character, then word characters, spaces, '-' or '/', then a colon.
        var keyStart = pos;
        if (pos >= line.Length || !IsWordChar(line[pos]))
        {
            return false;
        }

        pos++;
        while (pos < line.Length && (IsWordChar(line[pos]) || line[pos] is ' ' or '-' or '/'))
        {
            pos++;
        }

        if (pos - keyStart < 2 || pos >= line.Length || line[pos] != ':')
        {
            return false;
        }

        key = line[keyStart..pos];
        pos++;
        while (pos < line.Length && char.IsWhiteSpace(line[pos]))
        {
            pos++;
        }

        // A JSON string counts only when a comma or the end of the line follows it.
        var quotedEnd = QuotedStringEnd(line, pos);
        if (quotedEnd > 0 && (quotedEnd == line.Length || line[quotedEnd] == ','))
        {
            value = Unquote(line[pos..quotedEnd]);
            end = quotedEnd == line.Length ? quotedEnd : quotedEnd + 1;
            return true;
        }

        var comma = line.IndexOf(',', pos);
        var valueEnd = comma < 0 ? line.Length : comma;
        value = line[pos..valueEnd];
        end = comma < 0 ? line.Length : comma + 1;
        return true;
    }

    // The index just past a double-quoted string with at least one character (backslash escapes any character) that
    // starts at 'pos', or -1.
    private static int QuotedStringEnd(string line, int pos)
    {
        if (pos >= line.Length || line[pos] != '"')
        {
            return -1;
        }

        var i = pos + 1;
        while (i < line.Length)
        {
            var c = line[i];
            if (c == '\\')
            {
                if (i + 1 >= line.Length)
                {
                    return -1;
                }

                i += 2;
            }
            else if (c == '"')
            {
                return i > pos + 1 ? i + 1 : -1;
            }
            else
            {
                i++;
            }
        }

        return -1;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
