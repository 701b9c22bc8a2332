namespace NativeDiffusion.BindingsGenerator;

/// <summary>The two generated texts, LF line endings, deterministic for a given header.</summary>
/// <param name="CSharp">Contents of src/NativeDiffusion/Interop/NativeMethods.g.cs.</param>
/// <param name="NativeLayoutTable">Contents of native/src/capi/struct_layout.g.inc.</param>
public sealed record GeneratedBindings(string CSharp, string NativeLayoutTable);

/// <summary>A generated file whose committed copy is missing or differs from a fresh generation.</summary>
/// <param name="RelativePath">Path from the repository root, with forward slashes.</param>
/// <param name="Summary">What differs, e.g. the first differing line of both versions.</param>
public sealed record FileDifference(string RelativePath, string Summary);
