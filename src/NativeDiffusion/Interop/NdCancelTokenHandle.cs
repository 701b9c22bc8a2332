using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Owns an <c>nd_cancel_token*</c> (a cancellation flag); releasing it calls <c>nd_cancel_token_free</c>.</summary>
internal sealed class NdCancelTokenHandle : SafeHandle
{
    /// <summary>Creates an invalid (NULL) handle; LibraryImport's out-marshalling fills it.</summary>
    public NdCancelTokenHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.nd_cancel_token_free(handle);
        return true;
    }
}
