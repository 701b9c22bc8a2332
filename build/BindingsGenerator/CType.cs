namespace NativeDiffusion.BindingsGenerator;

/// <summary>
/// A C type as clang spells it (<c>const nd_safetensors *</c>), reduced to the only shape the bindings
/// support: a base type, whether the base is const, and a number of pointers. Arrays, function types
/// written inline, unions and other declarators are refused by <see cref="TryParse"/>.
/// </summary>
internal sealed record CType(string Spelling, string BaseName, bool BaseIsConst, int PointerDepth)
{
    private static readonly HashSet<string> IgnoredQualifiers =
        ["restrict", "__restrict", "_Nullable", "_Nonnull", "_Null_unspecified"];

    public static CType? TryParse(string spelling, out string? error)
    {
        error = null;
        if (spelling.Contains('['))
        {
            error = $"fixed-size array type '{spelling}' is not supported (use a pointer and a count)";
            return null;
        }
        if (spelling.Contains('(') || spelling.Contains("..."))
        {
            error = $"type '{spelling}' is not supported (name function pointer types with a typedef)";
            return null;
        }

        var tokens = spelling.Replace("*", " * ", StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var baseWords = new List<string>();
        var baseIsConst = false;
        var pointerDepth = 0;
        foreach (var token in tokens)
        {
            if (token == "*")
            {
                pointerDepth++;
            }
            else if (token == "const")
            {
                baseIsConst |= pointerDepth == 0; // a const pointer itself changes nothing for the bindings
            }
            else if (token is "volatile" or "_Atomic")
            {
                error = $"'{token}' in type '{spelling}' is not supported";
                return null;
            }
            else if (IgnoredQualifiers.Contains(token))
            {
                // no effect on the ABI
            }
            else if (pointerDepth == 0)
            {
                baseWords.Add(token);
            }
            else
            {
                error = $"type '{spelling}' is not supported";
                return null;
            }
        }

        if (baseWords.Count == 0)
        {
            error = $"type '{spelling}' has no base type";
            return null;
        }
        if (baseWords[0] == "union")
        {
            error = $"union type '{spelling}' is not supported";
            return null;
        }
        return new CType(spelling, string.Join(' ', baseWords), baseIsConst, pointerDepth);
    }
}
