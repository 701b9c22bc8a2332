using System.Text.RegularExpressions;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>Turns the raw text of a C comment into plain lines for a C# doc comment.</summary>
internal static partial class CommentText
{
    /// <summary>
    /// The whole comment around the range clang reports for a comment's text: [begin, end) is the text of
    /// a block comment without "/*" and "*/", but for a line comment begin is past "///" and end is the
    /// last character. Returns where the comment starts and its text without the opening "/*".
    /// </summary>
    public static (int Start, string Text) Extract(byte[] source, int begin, int end)
    {
        var start = begin;
        for (var p = begin - 2; p >= Math.Max(0, begin - 4); p--)
        {
            if (source[p] == '/' && source[p + 1] is (byte)'*' or (byte)'/'
                && source.AsSpan(p + 2, begin - p - 2).IndexOfAnyExcept("/*!<"u8) < 0)
            {
                start = p;
            }
        }
        var isLineComment = start + 1 < source.Length && source[start] == '/' && source[start + 1] == '/';
        if (isLineComment)
        {
            var lineEnd = Array.IndexOf(source, (byte)'\n', end);
            end = lineEnd < 0 ? source.Length : lineEnd;
            return (start, System.Text.Encoding.UTF8.GetString(source, start, end - start));
        }
        return (start, System.Text.Encoding.UTF8.GetString(source, begin, end - begin));
    }

    /// <summary>
    /// Strips comment decoration (a leading '*' on continuation lines, '//' of line comments, the extra
    /// '*', '!' or '&lt;' of doc-comment styles) and blank lines. Returns null for an empty comment and for
    /// a section banner such as "/* ------------ errors */", which introduces a group and describes nothing.
    /// </summary>
    public static string? Clean(string raw)
    {
        var lines = raw.Replace("\r", "", StringComparison.Ordinal)
            .Split('\n')
            .Select(line => Decoration().Replace(line, "").Trim())
            .Where(line => line.Length > 0)
            .ToList();
        if (lines.Count == 0 || (lines.Count == 1 && Banner().IsMatch(lines[0])))
        {
            return null;
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"^\s*(//+|\*+(?!/))?[!<]?")]
    private static partial Regex Decoration();

    [GeneratedRegex(@"^[-=*#]{3,}[\s\w-]*$")]
    private static partial Regex Banner();
}
