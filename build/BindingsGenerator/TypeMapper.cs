namespace NativeDiffusion.BindingsGenerator;

/// <summary>Where a C type is used; the C# type depends on it (a string parameter, a byte* field).</summary>
internal enum TypeUse
{
    Parameter,
    Return,
    Field,
    CallbackParameter,
    CallbackReturn,
}

/// <summary>
/// Maps the header's C types to C# interop types. Everything it cannot map faithfully is reported to the
/// diagnostics with the declaration's name; it never falls back to a guess.
/// </summary>
internal sealed class TypeMapper(HeaderModel model, Diagnostics diagnostics)
{
    private static readonly Dictionary<string, string> Primitives = new(StringComparer.Ordinal)
    {
        ["int8_t"] = "sbyte", ["uint8_t"] = "byte",
        ["int16_t"] = "short", ["uint16_t"] = "ushort",
        ["int32_t"] = "int", ["uint32_t"] = "uint",
        ["int64_t"] = "long", ["uint64_t"] = "ulong",
        ["int"] = "int", ["unsigned int"] = "uint",
        ["size_t"] = "nuint", ["ptrdiff_t"] = "nint", ["intptr_t"] = "nint", ["uintptr_t"] = "nuint",
        ["float"] = "float", ["double"] = "double",
    };

    /// <summary>
    /// The C# type for <paramref name="type"/> used as <paramref name="use"/>, or null after reporting why
    /// not. <paramref name="function"/> is the C function whose parameter it is, for the nd_x_free rule.
    /// </summary>
    public string? Map(CType type, TypeUse use, int line, string where, string? function = null)
    {
        var stars = new string('*', type.PointerDepth);
        var baseName = type.BaseName;
        var baseIsConst = type.BaseIsConst;

        // Follow typedefs of plain types declared in the header (typedef uint32_t nd_seed;).
        var seen = new HashSet<string>();
        while (model.TypeNames.TryGetValue(baseName, out var declaration) && declaration is AliasDeclaration alias)
        {
            if (!seen.Add(baseName) || alias.Target.PointerDepth > 0)
            {
                return Fail(line, where, $"typedef '{baseName}' cannot be mapped");
            }
            baseIsConst |= alias.Target.BaseIsConst;
            baseName = alias.Target.BaseName;
        }

        if (Primitives.TryGetValue(baseName, out var primitive))
        {
            return primitive + stars;
        }

        switch (baseName)
        {
            case "void" when type.PointerDepth == 0:
                return use is TypeUse.Return or TypeUse.CallbackReturn
                    ? "void"
                    : Fail(line, where, "'void' is only valid as a return type");
            case "void":
                return "void" + stars;
            case "char" when type.PointerDepth == 0:
                return Fail(line, where, "a plain 'char' value is not supported (use int8_t or uint8_t)");
            // Nullable because C lets any pointer be NULL; the library checks every one and answers
            // ND_STATUS_INVALID_ARGUMENT where NULL has no meaning, so callers need no null-forgiving.
            case "char" when type.PointerDepth == 1 && baseIsConst && use == TypeUse.Parameter:
                return "string?";
            case "char":
                return "byte" + stars;
        }

        if (!model.TypeNames.TryGetValue(baseName, out var named))
        {
            return Fail(line, where, $"type '{type.Spelling}' is not declared in the header and not a supported " +
                                     "fixed-width type");
        }

        switch (named)
        {
            case EnumDeclaration:
                return Naming.Pascal(named.Name) + stars;

            case StructDeclaration when type.PointerDepth == 0 && use != TypeUse.Field:
                return Fail(line, where, $"struct '{named.Name}' passed or returned by value is not supported " +
                                         "(pass a pointer)");
            case StructDeclaration:
                return Naming.Pascal(named.Name) + stars;

            case OpaqueDeclaration opaque:
                return MapOpaque(opaque, type, use, line, where, function);

            case CallbackDeclaration callback when type.PointerDepth == 0:
                return MapCallback(callback, line, where);
            case CallbackDeclaration:
                return Fail(line, where, $"a pointer to the function pointer type '{named.Name}' is not supported");

            default:
                return Fail(line, where, $"type '{type.Spelling}' cannot be mapped");
        }
    }

    /// <summary>
    /// nd_foo* parameters and returns are the SafeHandle NdFooHandle, nd_foo** parameters are
    /// "out NdFooHandle"; nd_foo_free takes the raw nint its handle's ReleaseHandle passes. Inside structs
    /// and callback signatures, where SafeHandles cannot go, the pointer is an nint.
    /// </summary>
    private string? MapOpaque(OpaqueDeclaration opaque, CType type, TypeUse use, int line, string where, string? function)
    {
        var handle = Naming.Handle(opaque.Name);
        return (type.PointerDepth, use) switch
        {
            (0, _) => Fail(line, where, $"the opaque type '{opaque.Name}' can only be used through a pointer"),
            (1, TypeUse.Parameter) when function == opaque.Name + "_free" => "nint",
            (1, TypeUse.Parameter or TypeUse.Return) => handle,
            (2, TypeUse.Parameter) => "out " + handle,
            (1, _) => "nint",
            (2, _) => "nint*",
            _ => Fail(line, where, $"'{type.Spelling}' has too many levels of pointers to map"),
        };
    }

    private string? MapCallback(CallbackDeclaration callback, int line, string where)
    {
        var where2 = $"{where} (function pointer type {callback.Name})";
        var types = callback.Parameters.Select(p => Map(p, TypeUse.CallbackParameter, line, where2))
            .Append(Map(callback.Return, TypeUse.CallbackReturn, line, where2))
            .ToList();
        return types.Any(t => t is null) ? null : $"delegate* unmanaged[Cdecl]<{string.Join(", ", types)}>";
    }

    private string? Fail(int line, string where, string message)
    {
        diagnostics.Fail(line, where, message);
        return null;
    }
}
