using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Owns an <c>nd_model*</c> (a loaded model); releasing it calls <c>nd_model_free</c>.</summary>
internal sealed class NdModelHandle : SafeHandle
{
    /// <summary>Creates an invalid (NULL) handle; LibraryImport's out-marshalling fills it.</summary>
    public NdModelHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.nd_model_free(handle);
        return true;
    }
}
