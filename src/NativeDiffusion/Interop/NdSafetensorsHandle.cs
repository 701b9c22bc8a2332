using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Owns an <c>nd_safetensors*</c> (an open, memory-mapped file); releasing it calls <c>nd_safetensors_free</c>.</summary>
internal sealed class NdSafetensorsHandle : SafeHandle
{
    /// <summary>Creates an invalid (NULL) handle; LibraryImport's out-marshalling fills it.</summary>
    public NdSafetensorsHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.nd_safetensors_free(handle);
        return true;
    }
}
