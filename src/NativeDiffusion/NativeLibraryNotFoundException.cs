using System.Text;

namespace NativeDiffusion;

/// <summary>One place where the native library was looked for, and why it could not be loaded from there.</summary>
/// <param name="Path">The full path tried.</param>
/// <param name="Source">Why this path was a candidate, e.g. <c>ND_NATIVE_LIBRARY</c> or <c>assembly folder</c>.</param>
/// <param name="Error">Why it failed: a missing file, or the operating system's loader error.</param>
public sealed record NativeLibraryProbe(string Path, string Source, string Error);

/// <summary>
/// The native library (<c>libnativediffusion.so</c>) could not be loaded from any candidate location.
/// </summary>
/// <remarks>
/// It derives from <see cref="DllNotFoundException"/>, which is what .NET throws for a missing native library, so
/// code that already handles that keeps working; <see cref="Probes"/> lists every path tried and why each failed,
/// and so does the message.
/// </remarks>
public sealed class NativeLibraryNotFoundException : DllNotFoundException
{
    /// <summary>Creates the exception from the list of places tried.</summary>
    public NativeLibraryNotFoundException(IReadOnlyList<NativeLibraryProbe> probes)
        : base(FormatMessage(probes))
    {
        Probes = probes;
    }

    /// <summary>Creates the exception with a message of its own and no probes.</summary>
    public NativeLibraryNotFoundException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates the exception with a message of its own, wrapping another.</summary>
    public NativeLibraryNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Probes = [];
    }

    /// <summary>Creates the exception with no details; prefer the other constructors.</summary>
    public NativeLibraryNotFoundException()
        : this("The NativeDiffusion native library could not be loaded.")
    {
    }

    /// <summary>Every place tried, in order, with the reason it failed.</summary>
    public IReadOnlyList<NativeLibraryProbe> Probes { get; }

    private static string FormatMessage(IReadOnlyList<NativeLibraryProbe> probes)
    {
        var message = new StringBuilder("The NativeDiffusion native library could not be loaded. Tried, in order:");
        foreach (var probe in probes)
        {
            message.Append("\n  ").Append(probe.Path).Append(" (").Append(probe.Source).Append("): ").Append(probe.Error);
        }

        if (probes.Count == 0)
        {
            message.Append("\n  (no candidate location)");
        }

        message.Append("\nSet ND_NATIVE_LIBRARY or call NativeDiffusionLibrary.Configure(path) to point at libnativediffusion.so.");
        return message.ToString();
    }
}
