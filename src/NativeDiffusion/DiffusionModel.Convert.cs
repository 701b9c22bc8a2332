using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using NativeDiffusion.Interop;

namespace NativeDiffusion;

public sealed partial class DiffusionModel
{
    /// <summary>
    /// Writes the model as one self-contained GGUF file (weights, family, tokenizer vocabulary when the model has one) on
    /// a worker thread, tensor by tensor. The file appears only when the conversion succeeds. Runs alone on the model,
    /// like generation.
    /// </summary>
    /// <param name="outputPath">The <c>.gguf</c> file to write (replaced if it exists).</param>
    /// <param name="options">The weight type and portability; null for F16.</param>
    /// <param name="progress">Receives a report per tensor written, from the worker thread. An exception it throws stops
    /// the conversion and is rethrown.</param>
    /// <param name="cancellationToken">Stops the conversion after the tensor being written; no file is left.</param>
    /// <exception cref="ArgumentException">An option is out of range (the property is named).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="NativeDiffusionException">The engine could not write the file; the message says why.</exception>
    public Task ConvertAsync(
        string outputPath,
        ConvertOptions? options = null,
        IProgress<ConvertProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        options ??= new ConvertOptions();
        options.Validate();
        var fullPath = Path.GetFullPath(outputPath);
        return RunExclusiveAsync(token => Convert(fullPath, options, progress, token, cancellationToken), cancellationToken);
    }

    private unsafe bool Convert(string fullPath, ConvertOptions options, IProgress<ConvertProgress>? progress, NdCancelTokenHandle token, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var parameters = default(NdConvertParams);
        parameters.StructSize = (uint)sizeof(NdConvertParams);
        NativeMethods.nd_convert_params_init(&parameters).ThrowIfFailed("initialising the conversion parameters");

        var run = new ConvertRun(progress, token);
        var self = GCHandle.Alloc(run);
        NdStatus status;
        var output = NativeUtf8.Encode(fullPath);
        try
        {
            fixed (byte* outputPtr = output)
            {
                parameters.OutputPath = outputPtr;
                parameters.WeightType = options.WeightType is { } type ? (int)type : NativeMethods.WeightTypeAsStored;
                parameters.Portable = options.Portable ? 1 : 0;
                parameters.Cancel = token.DangerousGetHandle(); // alive: the caller disposes it after this returns
                if (progress is not null)
                {
                    parameters.Progress = &OnNativeConvertProgress;
                    parameters.ProgressUserData = (void*)GCHandle.ToIntPtr(self);
                }

                status = NativeMethods.nd_model_convert(_handle, &parameters);
            }
        }
        finally
        {
            self.Free();
        }

        NativeDiffusionException? failure = null;
        if (status is not (NdStatus.Ok or NdStatus.Cancelled))
        {
            try
            {
                status.ThrowIfFailed($"converting '{Info.Path}' to '{fullPath}'");
            }
            catch (NativeDiffusionException e)
            {
                failure = e;
            }
        }

        run.Failure?.Throw();
        if (status == NdStatus.Cancelled)
        {
            throw new OperationCanceledException("The conversion was cancelled.", cancellationToken);
        }

        if (failure is not null)
        {
            throw failure;
        }

        ThrowIfLoggingFailed();
        if (_logger is not null)
        {
            DiffusionModelLog.ConversionFinished(_logger, fullPath, options.WeightType?.ToFileName() ?? "as stored", clock.Elapsed.TotalSeconds);
        }

        return true;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnNativeConvertProgress(ulong done, ulong total, byte* tensor, void* userData)
    {
        ConvertRun? run = null;
        try
        {
            run = (ConvertRun?)GCHandle.FromIntPtr((nint)userData).Target;
            run?.Progress?.Report(new ConvertProgress((long)done, (long)total, NativeString.Read(tensor)));
        }
        catch (Exception e)
        {
            // Never unwind into native code: record, stop the conversion, rethrow after it returns.
            if (run is not null && Interlocked.CompareExchange(ref run.Failure, ExceptionDispatchInfo.Capture(e), null) is null)
            {
                NativeMethods.nd_cancel_token_cancel(run.Cancel);
            }
        }
    }

    /// <summary>What the conversion callback reaches through <c>user_data</c>.</summary>
    private sealed class ConvertRun(IProgress<ConvertProgress>? progress, NdCancelTokenHandle cancel)
    {
        public IProgress<ConvertProgress>? Progress { get; } = progress;

        public NdCancelTokenHandle Cancel { get; } = cancel;

        public ExceptionDispatchInfo? Failure;
    }
}
