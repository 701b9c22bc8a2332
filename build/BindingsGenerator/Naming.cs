using System.Text;

namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// C names to C# names. Words are the underscore-separated parts; each becomes upper-case first letter,
/// lower-case rest, and they are joined without separator, except that an underscore is kept before a
/// word that starts with a digit (SSE4_2 -> Sse4_2) and between two words that both contain a digit
/// (F8_E4M3 -> F8_E4m3), where joining would run the numbers together.
/// </summary>
internal static class Naming
{
    private static readonly HashSet<string> Keywords =
    [
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
        "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
        "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
        "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
        "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
        "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
        "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
    ];

    /// <summary>nd_system_info -> NdSystemInfo, struct_size -> StructSize.</summary>
    public static string Pascal(string cName) => JoinWords(cName.Split('_', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The SafeHandle type for an opaque struct: nd_context -> NdContextHandle.</summary>
    public static string Handle(string cName) => Pascal(cName) + "Handle";

    /// <summary>
    /// An enum member without the enum's prefix: (nd_status, ND_STATUS_IO_ERROR) -> IoError.
    /// Null when the member does not carry the prefix or what is left does not start with a letter.
    /// </summary>
    public static string? EnumMember(string enumName, string memberName)
    {
        var prefix = enumName.ToUpperInvariant() + "_";
        if (!memberName.StartsWith(prefix, StringComparison.Ordinal) || memberName.Length == prefix.Length)
        {
            return null;
        }
        var name = JoinWords(memberName[prefix.Length..].Split('_', StringSplitOptions.RemoveEmptyEntries));
        return name.Length > 0 && char.IsLetter(name[0]) ? name : null;
    }

    /// <summary>ND_ABI_VERSION -> AbiVersion.</summary>
    public static string Constant(string macroName) =>
        Pascal(macroName.StartsWith("ND_", StringComparison.Ordinal) ? macroName[3..] : macroName);

    /// <summary>A C identifier usable in C#: reserved words get '@' (out -> @out).</summary>
    public static string Identifier(string name) => Keywords.Contains(name) ? "@" + name : name;

    private static string JoinWords(IReadOnlyList<string> words)
    {
        var result = new StringBuilder();
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            if (i > 0 && (char.IsDigit(word[0]) || (HasDigit(words[i - 1]) && HasDigit(word))))
            {
                result.Append('_');
            }
            result.Append(char.ToUpperInvariant(word[0])).Append(word[1..].ToLowerInvariant());
        }
        return result.ToString();
    }

    private static bool HasDigit(string word) => word.Any(char.IsDigit);
}
