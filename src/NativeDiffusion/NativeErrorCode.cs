namespace NativeDiffusion;

/// <summary>
/// Why a native operation failed: the engine's <c>nd_status</c>, value for value (a test keeps the two equal).
/// </summary>
public enum NativeErrorCode
{
    /// <summary>Success; never carried by an exception.</summary>
    Ok = 0,

    /// <summary>A NULL pointer, a bad struct size or an out-of-range value was passed.</summary>
    InvalidArgument = 1,

    /// <summary>An allocation failed; nothing was changed.</summary>
    OutOfMemory = 2,

    /// <summary>A file could not be opened, read or mapped.</summary>
    IoError = 3,

    /// <summary>A file is malformed; the message names the offset or field.</summary>
    InvalidFormat = 4,

    /// <summary>Valid input that this build of the engine cannot handle.</summary>
    Unsupported = 5,

    /// <summary>A name or index that does not exist.</summary>
    NotFound = 6,

    /// <summary>The operation was cancelled.</summary>
    Cancelled = 7,

    /// <summary>A bug in the engine; please report the message.</summary>
    InternalError = 8,
}
