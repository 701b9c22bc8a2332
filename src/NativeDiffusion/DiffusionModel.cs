using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NativeDiffusion.Interop;

namespace NativeDiffusion;

/// <summary>
/// A loaded Stable Diffusion model: its weights memory-mapped (or converted) by the engine, ready to generate images
/// (<see cref="GenerateAsync"/>, <see cref="GenerateStreamingAsync"/>) or to be written as GGUF (<see cref="ConvertAsync"/>).
/// </summary>
/// <remarks>
/// <para>
/// Thread safety: every member may be called from any thread. Generation and conversion run one at a time per model: a
/// call made while another runs waits for it (a <see cref="SemaphoreSlim"/> per model, so models never wait for each
/// other); its <see cref="CancellationToken"/> also cancels that wait. <see cref="Info"/> and <see cref="Tensors"/> never wait.
/// </para>
/// <para>
/// Native work runs on a worker thread, never on the caller's. Cancelling a call's token stops the engine within one
/// sampling step (or one tensor of a conversion) and the call throws <see cref="OperationCanceledException"/>; the model
/// stays usable.
/// </para>
/// <para>
/// Lifetime: <see cref="Dispose"/> during a call is safe: the call finishes and the native model is freed when it ends.
/// <see cref="DisposeAsync"/> also waits for it. Nothing relies on a finalizer.
/// </para>
/// </remarks>
public sealed partial class DiffusionModel : IAsyncDisposable, IDisposable
{
    private readonly NdModelHandle _handle;
    private readonly NativeContext _context; // owns the log callback the native model keeps calling
    private readonly ILogger? _logger;
    private readonly SemaphoreSlim _gate = new(1, 1); // not disposed: a waiter may still be leaving it
    private readonly Lock _lifetime = new();
    private readonly TaskCompletionSource _releasedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lazy<IReadOnlyList<TensorInfo>> _tensors;
    private int _callsInFlight;
    private bool _disposed;
    private bool _nativeStateReleased;

    private DiffusionModel(NdModelHandle handle, NativeContext context, ILogger? logger, ModelInfo info, bool canGenerate)
    {
        _handle = handle;
        _context = context;
        _logger = logger;
        Info = info;
        CanGenerate = canGenerate;
        _tensors = new Lazy<IReadOnlyList<TensorInfo>>(ReadTensors, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>What the model is: family, layout, prediction, components, tokenizer source, tensor count and bytes.</summary>
    public ModelInfo Info { get; }

    /// <summary>Whether the model was loaded for generation (<see cref="LoadAsync"/>); false for <see cref="OpenForInspectionAsync"/>.</summary>
    public bool CanGenerate { get; }

    /// <summary>
    /// The weights under their canonical (original-layout) names, sorted by name, with their type and shape as held
    /// (<see cref="TensorInfo.DataOffset"/> is 0: weights may come from several files). Read on first use.
    /// </summary>
    /// <exception cref="ObjectDisposedException">First read after <see cref="Dispose"/>.</exception>
    public IReadOnlyList<TensorInfo> Tensors => _tensors.Value;

    /// <summary>Tensor count, elements and bytes of the weights for each element type present, ordered by type.</summary>
    public IReadOnlyList<DtypeTotal> TotalsByDtype => DtypeTotal.Summarize(Tensors);

    /// <summary>
    /// Loads a model for generation on a worker thread: a <c>.safetensors</c> checkpoint, a GGUF file or a diffusers
    /// folder. The engine recognises the family and fails now if the model cannot generate (no tokenizer vocabulary, a
    /// family not implemented yet).
    /// </summary>
    /// <param name="path">The model file or folder (any characters; passed to the engine as UTF-8).</param>
    /// <param name="options">How to load it; null for the defaults.</param>
    /// <param name="cancellationToken">Stops waiting for the load; a model that finishes loading afterwards is freed.</param>
    /// <exception cref="ArgumentException">An option is out of range (named by <see cref="ArgumentException.ParamName"/>).</exception>
    /// <exception cref="NativeDiffusionException">The files could not be read (<see cref="NativeErrorCode.IoError"/>), are malformed
    /// (<see cref="NativeErrorCode.InvalidFormat"/>), hold no model the engine knows (<see cref="NativeErrorCode.Unsupported"/>) or
    /// no tokenizer vocabulary was found (<see cref="NativeErrorCode.NotFound"/>, saying how to provide one).</exception>
    public static Task<DiffusionModel> LoadAsync(string path, ModelLoadOptions? options = null, CancellationToken cancellationToken = default) =>
        LoadCoreAsync(path, options, forGeneration: true, cancellationToken);

    /// <summary>
    /// Opens a model for inspection and conversion only (no tokenizer needed, any family the engine recognises):
    /// <see cref="Info"/>, <see cref="Tensors"/> and <see cref="ConvertAsync"/> work, generation does not.
    /// </summary>
    /// <inheritdoc cref="LoadAsync" path="/param"/>
    /// <inheritdoc cref="LoadAsync" path="/exception"/>
    public static Task<DiffusionModel> OpenForInspectionAsync(string path, ModelLoadOptions? options = null, CancellationToken cancellationToken = default) =>
        LoadCoreAsync(path, options, forGeneration: false, cancellationToken);

    /// <summary>
    /// Frees the native model, now if no call is running, else when the running call ends. Idempotent. Calls made
    /// afterwards throw <see cref="ObjectDisposedException"/>; <see cref="Info"/> stays readable.
    /// </summary>
    public void Dispose()
    {
        lock (_lifetime)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _handle.Dispose(); // deferred by the runtime while a call holds a reference
        lock (_lifetime)
        {
            if (_callsInFlight == 0)
            {
                ReleaseNativeState();
            }
        }
    }

    /// <summary>Like <see cref="Dispose"/>, then waits for a running call to end and the native model to be freed.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        await _releasedSignal.Task.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Info.Path} ({Info.FamilyName}, {Info.Layout}, {Info.TensorCount} weights)";

    private static async Task<DiffusionModel> LoadCoreAsync(string path, ModelLoadOptions? options, bool forGeneration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= ModelLoadOptions.Default;
        options.Validate();
        var fullPath = Path.GetFullPath(path);
        cancellationToken.ThrowIfCancellationRequested();

        var load = Task.Factory.StartNew(
            () => Load(fullPath, options, forGeneration),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            return await load.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !load.IsCompleted)
        {
            // The engine cannot stop a load; free what it makes once it is done.
            _ = load.ContinueWith(
                static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        t.Result.Dispose();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    private static unsafe DiffusionModel Load(string fullPath, ModelLoadOptions options, bool forGeneration)
    {
        NativeLibraryLoader.EnsureLoaded();
        var logger = options.ResolveLogger();
        var context = NativeContext.Create(logger);
        NdModelHandle? handle = null;
        try
        {
            var parameters = default(NdModelParams);
            parameters.StructSize = (uint)sizeof(NdModelParams);
            NativeMethods.nd_model_params_init(&parameters).ThrowIfFailed("initialising the model parameters");

            var pathUtf8 = NativeUtf8.Encode(fullPath);
            var vaeUtf8 = NativeUtf8.Encode(options.VaePath is null ? null : Path.GetFullPath(options.VaePath));
            var tokenizerUtf8 = NativeUtf8.Encode(options.TokenizerPath is null ? null : Path.GetFullPath(options.TokenizerPath));
            NdStatus status;
            fixed (byte* pathPtr = pathUtf8, vaePtr = vaeUtf8, tokenizerPtr = tokenizerUtf8)
            {
                parameters.Path = pathPtr;
                parameters.VaePath = vaePtr;
                parameters.TokenizerPath = tokenizerPtr;
                parameters.WeightType = options.WeightType is { } type ? (int)type : NativeMethods.WeightTypeAsStored;
                parameters.Prediction = (NdPredictionType)(int)options.PredictionType;
                parameters.Threads = (uint)options.Threads;
                parameters.ForGeneration = forGeneration ? 1 : 0;
                status = NativeMethods.nd_model_load(context.Handle, &parameters, out handle);
            }

            try
            {
                ThrowIfLoadFailed(status, fullPath, forGeneration);
            }
            catch (NativeDiffusionException e)
            {
                if (logger is not null)
                {
                    DiffusionModelLog.ModelLoadFailed(logger, fullPath, e.ErrorCode);
                }

                throw;
            }

            context.ThrowIfLoggingFailed();
            var info = ReadInfo(handle, fullPath);
            if (logger is not null)
            {
                DiffusionModelLog.ModelLoaded(logger, fullPath, info.FamilyName, info.Layout, info.TensorCount, info.WeightBytes, forGeneration);
            }

            return new DiffusionModel(handle, context, logger, info, forGeneration);
        }
        catch
        {
            handle?.Dispose();
            context.Dispose();
            throw;
        }
    }

    private static unsafe void ThrowIfLoadFailed(NdStatus status, string fullPath, bool forGeneration)
    {
        if (status == NdStatus.Ok)
        {
            return;
        }

        var nativeMessage = NativeString.Read(NativeMethods.nd_last_error());
        var operation = $"loading '{fullPath}'";
        if (status == NdStatus.NotFound && forGeneration && nativeMessage.Contains("tokenizer", StringComparison.OrdinalIgnoreCase))
        {
            // The engine says where it looked; say what to set from .NET too.
            nativeMessage = nativeMessage.TrimEnd('.', ' ') + ". From .NET, set ModelLoadOptions.TokenizerPath to that folder "
                + "(nd: --tokenizer DIR); GGUF files converted from a model with a tokenizer embed the vocabulary.";
        }

        throw new NativeDiffusionException((NativeErrorCode)(int)status, operation, nativeMessage);
    }

    private static unsafe ModelInfo ReadInfo(NdModelHandle handle, string fullPath)
    {
        var info = default(NdModelInfo);
        info.StructSize = (uint)sizeof(NdModelInfo);
        NativeMethods.nd_model_get_info(handle, &info).ThrowIfFailed("describing the model");
        return new ModelInfo(
            fullPath,
            (ModelFamily)(int)info.Family,
            NativeString.Read(info.FamilyName),
            NativeString.Read(info.Layout),
            (PredictionType)(int)info.Prediction,
            NativeString.Read(info.PredictionSource),
            (ModelComponents)(int)info.Components,
            NativeString.Read(info.TokenizerSource),
            checked((long)info.TensorCount),
            checked((long)info.WeightBytes));
    }

    private unsafe IReadOnlyList<TensorInfo> ReadTensors()
    {
        Enter();
        try
        {
            var count = checked((int)NativeMethods.nd_model_tensor_count(_handle));
            var tensors = ImmutableArray.CreateBuilder<TensorInfo>(count);
            for (var i = 0; i < count; i++)
            {
                var info = default(NdTensorInfo);
                info.StructSize = (uint)sizeof(NdTensorInfo);
                NativeMethods.nd_model_tensor(_handle, (nuint)i, &info).ThrowIfFailed($"describing weight {i}");
                var shape = new long[info.NDims];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = info.Shape[d];
                }

                tensors.Add(new TensorInfo(
                    NativeString.Read(info.Name),
                    (TensorDataType)(int)info.Dtype,
                    ImmutableCollectionsMarshal.AsImmutableArray(shape),
                    checked((long)info.NElements),
                    checked((long)info.DataOffset),
                    checked((long)info.DataSize)));
            }

            return tensors.MoveToImmutable();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Counts a call in and keeps the native model alive until <see cref="Exit"/>.</summary>
    /// <exception cref="ObjectDisposedException">The model has been disposed.</exception>
    private void Enter()
    {
        lock (_lifetime)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var added = false;
            _handle.DangerousAddRef(ref added);
            Debug.Assert(added, "the handle is open while the model is not disposed");
            _callsInFlight++;
        }
    }

    /// <summary>Counts a call out; the last one after <see cref="Dispose"/> frees what the model holds.</summary>
    private void Exit()
    {
        _handle.DangerousRelease(); // frees the native model here if Dispose ran meanwhile
        lock (_lifetime)
        {
            _callsInFlight--;
            if (_disposed && _callsInFlight == 0)
            {
                ReleaseNativeState();
            }
        }
    }

    // Under _lifetime, once the native model is freed: the log callback it held can go.
    private void ReleaseNativeState()
    {
        if (_nativeStateReleased)
        {
            return;
        }

        _nativeStateReleased = true;
        _context.Dispose();
        _releasedSignal.TrySetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread, alone on this model, with a native cancel token that
    /// <paramref name="cancellationToken"/> sets; the model stays alive for the whole call.
    /// </summary>
    private async Task<T> RunExclusiveAsync<T>(Func<NdCancelTokenHandle, T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Enter();
            try
            {
                NativeMethods.nd_cancel_token_create(out var token).ThrowIfFailed("creating a cancel token");
                using (token)
                using (cancellationToken.Register(static state => NativeMethods.nd_cancel_token_cancel((NdCancelTokenHandle)state!), token))
                {
                    return await Task.Factory.StartNew(
                        () => work(token),
                        CancellationToken.None,
                        TaskCreationOptions.LongRunning,
                        TaskScheduler.Default).ConfigureAwait(false);
                }
            }
            finally
            {
                Exit();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Rethrows the first exception a logger threw during this model's native calls.</summary>
    private void ThrowIfLoggingFailed() => _context.ThrowIfLoggingFailed();
}
