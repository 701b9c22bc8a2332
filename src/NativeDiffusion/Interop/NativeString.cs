using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Copies UTF-8 strings owned by the native library into managed strings.</summary>
internal static unsafe class NativeString
{
    /// <summary>The managed copy of a NUL-terminated UTF-8 string; <see cref="string.Empty"/> for NULL.</summary>
    public static string Read(byte* utf8) => utf8 is null ? string.Empty : Marshal.PtrToStringUTF8((nint)utf8) ?? string.Empty;
}
