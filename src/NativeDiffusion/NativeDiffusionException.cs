namespace NativeDiffusion;

/// <summary>
/// A native operation of the engine failed. <see cref="ErrorCode"/> says why in a form code can test,
/// <see cref="NativeMessage"/> is the engine's own explanation (<c>nd_last_error()</c>, read on the failing thread right
/// after the call).
/// </summary>
public class NativeDiffusionException : Exception
{
    /// <summary>Creates an exception for a failed native operation.</summary>
    /// <param name="errorCode">The native status.</param>
    /// <param name="operation">What was being done, e.g. <c>opening 'model.safetensors'</c>.</param>
    /// <param name="nativeMessage">The engine's message; may be empty.</param>
    public NativeDiffusionException(NativeErrorCode errorCode, string operation, string nativeMessage)
        : base(FormatMessage(errorCode, operation, nativeMessage))
    {
        ErrorCode = errorCode;
        Operation = operation;
        NativeMessage = nativeMessage;
    }

    /// <summary>Creates an exception with a message of its own and no native details (<see cref="ErrorCode"/> is
    /// <see cref="NativeErrorCode.InternalError"/>).</summary>
    public NativeDiffusionException(string message)
        : this(message, innerException: null)
    {
    }

    /// <summary>Creates an exception with a message of its own, wrapping another (<see cref="ErrorCode"/> is
    /// <see cref="NativeErrorCode.InternalError"/>).</summary>
    public NativeDiffusionException(string message, Exception? innerException)
        : base(message, innerException)
    {
        ErrorCode = NativeErrorCode.InternalError;
        Operation = string.Empty;
        NativeMessage = string.Empty;
    }

    /// <summary>Creates an exception with no details; prefer the other constructors.</summary>
    public NativeDiffusionException()
        : this("A native operation of NativeDiffusion failed.")
    {
    }

    /// <summary>Why the operation failed (the native <c>nd_status</c>).</summary>
    public NativeErrorCode ErrorCode { get; }

    /// <summary>What was being done when it failed, e.g. <c>opening 'model.safetensors'</c>.</summary>
    public string Operation { get; }

    /// <summary>The engine's message (<c>nd_last_error()</c>); empty if it gave none.</summary>
    public string NativeMessage { get; }

    private static string FormatMessage(NativeErrorCode errorCode, string operation, string nativeMessage)
    {
        var what = string.IsNullOrEmpty(operation) ? "A native operation" : char.ToUpperInvariant(operation[0]) + operation[1..];
        return string.IsNullOrEmpty(nativeMessage)
            ? $"{what} failed ({errorCode})."
            : $"{what} failed ({errorCode}): {nativeMessage}";
    }
}
