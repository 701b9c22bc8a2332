using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Owns an <c>nd_context*</c>; releasing it calls <c>nd_context_free</c>.</summary>
internal sealed class NdContextHandle : SafeHandle
{
    /// <summary>Creates an invalid (NULL) handle; LibraryImport's out-marshalling fills it.</summary>
    public NdContextHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.nd_context_free(handle);
        return true;
    }
}
