namespace NativeDiffusion.Interop;

/// <summary>Turns a failed <see cref="NdStatus"/> into a <see cref="NativeDiffusionException"/>.</summary>
internal static unsafe class NativeStatusExtensions
{
    /// <summary>
    /// Throws when <paramref name="status"/> is not <see cref="NdStatus.Ok"/>. Call it right after the native call, on
    /// the same thread and with no native call in between: it reads <c>nd_last_error()</c>, which is thread-local and
    /// overwritten by the next failure.
    /// </summary>
    /// <param name="status">What the native function returned.</param>
    /// <param name="operation">What was being done, for the message, e.g. <c>opening 'model.safetensors'</c>.</param>
    public static void ThrowIfFailed(this NdStatus status, string operation)
    {
        if (status == NdStatus.Ok)
        {
            return;
        }

        var nativeMessage = NativeString.Read(NativeMethods.nd_last_error());
        throw new NativeDiffusionException((NativeErrorCode)(int)status, operation, nativeMessage);
    }
}
