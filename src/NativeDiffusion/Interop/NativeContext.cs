using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace NativeDiffusion.Interop;

/// <summary>
/// Owns an <c>nd_context</c> whose log messages go to an <see cref="ILogger"/>. Used by one thread at a time, like the
/// native context; dispose it once the native calls that use it have returned.
/// </summary>
/// <remarks>
/// The callback is a static <c>[UnmanagedCallersOnly]</c> method that finds the logger through a <see cref="GCHandle"/>
/// passed as <c>user_data</c>. It never lets an exception unwind into native code: the first one a logger throws is
/// recorded, and <see cref="ThrowIfLoggingFailed"/> rethrows it once the native call has returned.
/// </remarks>
internal sealed unsafe class NativeContext : IDisposable
{
    private readonly NdContextHandle _handle;
    private readonly LogTarget? _logTarget;
    private GCHandle _logTargetHandle;

    private NativeContext(NdContextHandle handle, LogTarget? logTarget, GCHandle logTargetHandle)
    {
        _handle = handle;
        _logTarget = logTarget;
        _logTargetHandle = logTargetHandle;
    }

    /// <summary>The native handle, for calls that take an <c>nd_context*</c>.</summary>
    public NdContextHandle Handle => _handle;

    /// <summary>
    /// Creates a context that logs to <paramref name="logger"/> at the levels it has enabled; with no logger (or none
    /// enabled), a context that logs nothing.
    /// </summary>
    public static NativeContext Create(ILogger? logger)
    {
        NativeLibraryLoader.EnsureLoaded();

        var parameters = default(NdContextParams);
        parameters.StructSize = (uint)sizeof(NdContextParams);
        NativeMethods.nd_context_params_init(&parameters).ThrowIfFailed("initialising the native context parameters");

        var minimumLevel = logger is null ? NdLogLevel.None : GetMinimumLevel(logger);
        LogTarget? target = null;
        var targetHandle = default(GCHandle);
        if (minimumLevel != NdLogLevel.None)
        {
            target = new LogTarget(logger!);
            targetHandle = GCHandle.Alloc(target);
            parameters.LogCallback = &OnNativeLog;
            parameters.LogUserData = (void*)GCHandle.ToIntPtr(targetHandle);
        }

        parameters.MinLogLevel = minimumLevel;

        try
        {
            NativeMethods.nd_context_create(&parameters, out var handle).ThrowIfFailed("creating a native context");
            return new NativeContext(handle, target, targetHandle);
        }
        catch
        {
            if (targetHandle.IsAllocated)
            {
                targetHandle.Free();
            }

            throw;
        }
    }

    /// <summary>The native level for the lowest <see cref="LogLevel"/> the logger has enabled.</summary>
    internal static NdLogLevel GetMinimumLevel(ILogger logger)
    {
        if (logger.IsEnabled(LogLevel.Trace))
        {
            return NdLogLevel.Trace;
        }

        if (logger.IsEnabled(LogLevel.Debug))
        {
            return NdLogLevel.Debug;
        }

        if (logger.IsEnabled(LogLevel.Information))
        {
            return NdLogLevel.Info;
        }

        if (logger.IsEnabled(LogLevel.Warning))
        {
            return NdLogLevel.Warning;
        }

        return logger.IsEnabled(LogLevel.Error) || logger.IsEnabled(LogLevel.Critical) ? NdLogLevel.Error : NdLogLevel.None;
    }

    /// <summary>Maps a native level to <see cref="LogLevel"/>.</summary>
    internal static LogLevel ToLogLevel(NdLogLevel level) => level switch
    {
        NdLogLevel.Trace => LogLevel.Trace,
        NdLogLevel.Debug => LogLevel.Debug,
        NdLogLevel.Info => LogLevel.Information,
        NdLogLevel.Warning => LogLevel.Warning,
        NdLogLevel.Error => LogLevel.Error,
        _ => LogLevel.None,
    };

    /// <summary>Rethrows the first exception a logger threw during native calls, if any, and forgets it.</summary>
    public void ThrowIfLoggingFailed()
    {
        var failure = _logTarget is null ? null : Interlocked.Exchange(ref _logTarget.Failure, null);
        failure?.Throw();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _handle.Dispose();
        if (_logTargetHandle.IsAllocated)
        {
            _logTargetHandle.Free();
            _logTargetHandle = default;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnNativeLog(NdLogLevel level, byte* message, void* userData)
    {
        LogTarget? target = null;
        try
        {
            target = GCHandle.FromIntPtr((nint)userData).Target as LogTarget;
            if (target is null)
            {
                return;
            }

            var logLevel = ToLogLevel(level);
            if (logLevel != LogLevel.None && target.Logger.IsEnabled(logLevel))
            {
                NativeLog.Message(target.Logger, logLevel, NativeString.Read(message));
            }
        }
        catch (Exception e)
        {
            // Never unwind into native code; the managed caller rethrows after the native call returns.
            if (target is not null)
            {
                Interlocked.CompareExchange(ref target.Failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }
    }

    /// <summary>What the callback reaches through <c>user_data</c>.</summary>
    private sealed class LogTarget(ILogger logger)
    {
        public ILogger Logger { get; } = logger;

        public ExceptionDispatchInfo? Failure;
    }
}
