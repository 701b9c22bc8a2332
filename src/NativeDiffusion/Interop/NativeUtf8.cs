using System.Text;

namespace NativeDiffusion.Interop;

/// <summary>Managed strings as NUL-terminated UTF-8 for native parameter structs (pinned with <c>fixed</c> by the caller).</summary>
internal static class NativeUtf8
{
    /// <summary>The UTF-8 bytes of <paramref name="value"/> plus a NUL; null for null (a <c>fixed</c> over it gives NULL).</summary>
    public static byte[]? Encode(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
