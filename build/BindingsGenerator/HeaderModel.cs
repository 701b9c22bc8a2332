namespace NativeDiffusion.BindingsGenerator;

/// <summary>What the generator read from the header, in header order, before any C# is decided.</summary>
/// <param name="Declarations">Enums, structs, opaque types, callbacks, aliases and functions, in header order.</param>
/// <param name="Constants">Integer <c>#define ND_*</c> macros, in header order.</param>
/// <param name="TypeNames">Every spelling that names a header type ("nd_status", "enum nd_status") to its declaration.</param>
internal sealed record HeaderModel(
    IReadOnlyList<HeaderDeclaration> Declarations,
    IReadOnlyList<ConstantDeclaration> Constants,
    IReadOnlyDictionary<string, HeaderDeclaration> TypeNames);

/// <summary>A top-level declaration of the header. <paramref name="Doc"/> is its comment, already cleaned.</summary>
internal abstract record HeaderDeclaration(string Name, int Line, string? Doc);

internal sealed record EnumMember(string Name, long Value, string? Doc);

internal sealed record EnumDeclaration(string Name, int Line, string? Doc, IReadOnlyList<EnumMember> Members)
    : HeaderDeclaration(Name, Line, Doc)
{
    /// <summary>Enums named <c>*_flags</c> are bit sets.</summary>
    public bool IsFlags => Name.EndsWith("_flags", StringComparison.Ordinal);
}

internal sealed record StructField(string Name, CType Type, string? Doc);

internal sealed record StructDeclaration(string Name, int Line, string? Doc, IReadOnlyList<StructField> Fields)
    : HeaderDeclaration(Name, Line, Doc);

/// <summary>A struct the header declares but never defines: a handle.</summary>
internal sealed record OpaqueDeclaration(string Name, int Line, string? Doc) : HeaderDeclaration(Name, Line, Doc);

/// <summary>A typedef of a pointer to function.</summary>
internal sealed record CallbackDeclaration(string Name, int Line, string? Doc, CType Return, IReadOnlyList<CType> Parameters)
    : HeaderDeclaration(Name, Line, Doc);

/// <summary>A typedef of another plain type (<c>typedef uint32_t nd_seed;</c>).</summary>
internal sealed record AliasDeclaration(string Name, int Line, string? Doc, CType Target) : HeaderDeclaration(Name, Line, Doc);

internal sealed record FunctionParameter(string Name, CType Type);

internal sealed record FunctionDeclaration(
    string Name, int Line, string? Doc, CType Return, IReadOnlyList<FunctionParameter> Parameters)
    : HeaderDeclaration(Name, Line, Doc);

/// <summary>An integer <c>#define ND_*</c>; <paramref name="Value"/> as parsed, negative values allowed.</summary>
internal sealed record ConstantDeclaration(string Name, int Line, string? Doc, decimal Value)
    : HeaderDeclaration(Name, Line, Doc);
