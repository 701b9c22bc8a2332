using System.Globalization;
using System.Text.RegularExpressions;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// Reads the header's <c>#define ND_*</c> macros: values from clang's macro dump (so conditionals are
/// resolved as the compiler sees them), line and comment from the header text. Integer macros become
/// constants; ND_API is skipped; any other ND_ macro the header defines is refused.
/// </summary>
internal static partial class MacroReader
{
    private static readonly HashSet<string> Skipped = ["ND_API"];

    public static IReadOnlyList<ConstantDeclaration> Read(string macroDump, string headerText, Diagnostics diagnostics)
    {
        var headerLines = headerText.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        var constants = new List<ConstantDeclaration>();
        foreach (Match match in Definition().Matches(macroDump))
        {
            var name = match.Groups["name"].Value;
            var line = LineOfDefinition(headerLines, name);
            if (Skipped.Contains(name) || line == 0)
            {
                continue; // not ours, or defined outside the header
            }
            if (match.Groups["params"].Success)
            {
                diagnostics.Fail(line, name, "function-like macros are not supported");
                continue;
            }
            var value = ParseInteger(match.Groups["value"].Value.Trim());
            if (value is null)
            {
                diagnostics.Fail(line, name, $"only integer literal macros are supported, not '{match.Groups["value"].Value.Trim()}'");
                continue;
            }
            constants.Add(new ConstantDeclaration(name, line, CommentAbove(headerLines, line), value.Value));
        }
        return constants.OrderBy(c => c.Line).ToList();
    }

    /// <summary>An integer literal: decimal or hex, an optional sign, u/l suffixes, optional parentheses.</summary>
    private static decimal? ParseInteger(string text)
    {
        while (text.Length > 1 && text[0] == '(' && text[^1] == ')')
        {
            text = text[1..^1].Trim();
        }
        var negative = text.StartsWith('-');
        text = text.TrimStart('-', '+').TrimEnd('u', 'U', 'l', 'L');
        ulong magnitude;
        var parsed = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude)
              && (text == "0" || !text.StartsWith('0')); // a leading 0 would be octal in C
        return parsed ? (negative ? -(decimal)magnitude : magnitude) : null;
    }

    private static int LineOfDefinition(string[] lines, string name)
    {
        var pattern = new Regex(@"^\s*#\s*define\s+" + Regex.Escape(name) + @"\b");
        var index = Array.FindIndex(lines, line => pattern.IsMatch(line));
        return index + 1; // 0 when absent
    }

    /// <summary>The comment that ends on the line just above the definition, if there is one.</summary>
    private static string? CommentAbove(string[] lines, int line)
    {
        var end = line - 2; // zero-based index of the line above
        if (end < 0)
        {
            return null;
        }
        var last = lines[end].Trim();
        if (last.EndsWith("*/", StringComparison.Ordinal))
        {
            var start = end;
            while (start > 0 && !lines[start].Contains("/*", StringComparison.Ordinal))
            {
                start--;
            }
            var text = string.Join('\n', lines[start..(end + 1)]);
            var open = text.IndexOf("/*", StringComparison.Ordinal);
            var close = text.LastIndexOf("*/", StringComparison.Ordinal);
            return open < 0 ? null : CommentText.Clean(text[(open + 2)..close]);
        }
        if (last.StartsWith("//", StringComparison.Ordinal))
        {
            var start = end;
            while (start > 0 && lines[start - 1].TrimStart().StartsWith("//", StringComparison.Ordinal))
            {
                start--;
            }
            return CommentText.Clean(string.Join('\n', lines[start..(end + 1)]));
        }
        return null;
    }

    [GeneratedRegex(@"^#define (?<name>ND_\w+)(?<params>\([^)]*\))?(?: (?<value>.*))?$", RegexOptions.Multiline)]
    private static partial Regex Definition();
}
