namespace NativeDiffusion;

/// <summary>
/// The native library was found and loaded, but it was built for another version of the C ABI than these bindings;
/// it is refused rather than called with mismatched signatures or struct layouts.
/// </summary>
public sealed class IncompatibleNativeLibraryException : Exception
{
    /// <summary>Creates the exception for a library with the wrong ABI version.</summary>
    /// <param name="libraryPath">The file that was loaded.</param>
    /// <param name="expectedAbiVersion">The ABI version these bindings were generated for.</param>
    /// <param name="actualAbiVersion">The ABI version the library reports.</param>
    public IncompatibleNativeLibraryException(string libraryPath, uint expectedAbiVersion, uint actualAbiVersion)
        : base($"The native library {libraryPath} has ABI version {actualAbiVersion}, but these bindings need ABI version " +
               $"{expectedAbiVersion}. Use the libnativediffusion.so built from the same sources as NativeDiffusion.dll.")
    {
        LibraryPath = libraryPath;
        ExpectedAbiVersion = expectedAbiVersion;
        ActualAbiVersion = actualAbiVersion;
    }

    /// <summary>Creates the exception with a message of its own.</summary>
    public IncompatibleNativeLibraryException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message of its own, wrapping another.</summary>
    public IncompatibleNativeLibraryException(string message, Exception? innerException)
        : base(message, innerException)
    {
        LibraryPath = string.Empty;
    }

    /// <summary>Creates the exception with no details; prefer the other constructors.</summary>
    public IncompatibleNativeLibraryException()
        : this("The NativeDiffusion native library has an incompatible ABI version.")
    {
    }

    /// <summary>The file that was loaded and refused.</summary>
    public string LibraryPath { get; }

    /// <summary>The ABI version these bindings were generated for (<c>ND_ABI_VERSION</c> of their header).</summary>
    public uint ExpectedAbiVersion { get; }

    /// <summary>The ABI version the library reports (<c>nd_abi_version()</c>).</summary>
    public uint ActualAbiVersion { get; }
}
