using System.Runtime.InteropServices;

namespace NativeDiffusion.Interop;

/// <summary>Owns an <c>nd_images*</c> (the images of one generation); releasing it calls <c>nd_images_free</c>.</summary>
internal sealed class NdImagesHandle : SafeHandle
{
    /// <summary>Creates an invalid (NULL) handle; LibraryImport's out-marshalling fills it.</summary>
    public NdImagesHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == nint.Zero;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMethods.nd_images_free(handle);
        return true;
    }
}
