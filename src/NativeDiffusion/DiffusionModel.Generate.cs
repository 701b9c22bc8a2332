using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using NativeDiffusion.Images;
using NativeDiffusion.Interop;

namespace NativeDiffusion;

public sealed partial class DiffusionModel
{
    /// <summary>
    /// Generates <see cref="GenerationRequest.BatchCount"/> images on a worker thread. Calls on one model run one at a
    /// time: a call made while another runs waits for it.
    /// </summary>
    /// <param name="request">What to generate; checked before anything runs.</param>
    /// <param name="progress">Receives progress reports, in order, from the worker thread (a <see cref="Progress{T}"/>
    /// posts them to the caller's synchronization context). An exception it throws stops the run and is rethrown.</param>
    /// <param name="cancellationToken">Stops the run within one sampling step (or the wait for another call).</param>
    /// <returns>The images in batch order, each with its <see cref="GenerationSettings"/> (web-UI names, its own seed).</returns>
    /// <exception cref="ArgumentException">The request is inconsistent (the property is named).</exception>
    /// <exception cref="InvalidOperationException">The model was opened with <see cref="OpenForInspectionAsync"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model stays usable.</exception>
    /// <exception cref="NativeDiffusionException">The engine refused the request or failed; the message says why.</exception>
    /// <exception cref="ObjectDisposedException">The model has been disposed.</exception>
    public Task<IReadOnlyList<GeneratedImage>> GenerateAsync(
        GenerationRequest request,
        IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        CheckGenerationRequest(request);
        return GenerateCoreAsync(request, progress, updates: null, cancellationToken);
    }

    /// <summary>
    /// Generates like <see cref="GenerateAsync"/>, yielding progress (<see cref="GenerationProgressUpdate"/>), previews
    /// every <see cref="GenerationRequest.PreviewInterval"/> steps (<see cref="GenerationPreviewUpdate"/>) and last the
    /// images (<see cref="GenerationCompletedUpdate"/>). The engine never waits for the reader: updates queue up in a
    /// channel. Leaving the enumeration early cancels the run.
    /// </summary>
    /// <inheritdoc cref="GenerateAsync" path="/exception"/>
    public async IAsyncEnumerable<GenerationUpdate> GenerateStreamingAsync(
        GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        CheckGenerationRequest(request);
        var channel = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var generation = GenerateToChannelAsync(request, channel.Writer, run.Token);
        try
        {
            // The writer is completed whatever happens; the run's own outcome is rethrown below, unwrapped.
            await foreach (var update in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return update;
            }

            await generation.ConfigureAwait(false);
        }
        finally
        {
            if (!generation.IsCompleted)
            {
                await run.CancelAsync().ConfigureAwait(false);
                try
                {
                    await generation.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The reader left; nobody is waiting for the outcome.
                }
            }
        }
    }

    private void CheckGenerationRequest(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!CanGenerate)
        {
            throw new InvalidOperationException(
                $"The model '{Info.Path}' was opened for inspection only (DiffusionModel.OpenForInspectionAsync); load it with DiffusionModel.LoadAsync to generate.");
        }
    }

    private async Task GenerateToChannelAsync(GenerationRequest request, ChannelWriter<GenerationUpdate> writer, CancellationToken cancellationToken)
    {
        try
        {
            var images = await GenerateCoreAsync(request, progress: null, writer, cancellationToken).ConfigureAwait(false);
            writer.TryWrite(new GenerationCompletedUpdate(images));
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private Task<IReadOnlyList<GeneratedImage>> GenerateCoreAsync(
        GenerationRequest request,
        IProgress<GenerationProgress>? progress,
        ChannelWriter<GenerationUpdate>? updates,
        CancellationToken cancellationToken)
    {
        // A random seed is drawn per call, as the web UI does, and recorded in each image's settings.
        var seed = request.Seed == GenerationRequest.RandomSeed ? Random.Shared.NextInt64(0, 1L << 32) : request.Seed;
        return RunExclusiveAsync(token => Generate(request, seed, new GenerationRun(progress, updates, token), token, cancellationToken), cancellationToken);
    }

    // On the worker thread, alone on this model.
    private unsafe IReadOnlyList<GeneratedImage> Generate(
        GenerationRequest request,
        long seed,
        GenerationRun run,
        NdCancelTokenHandle token,
        CancellationToken cancellationToken)
    {
        if (_logger is not null)
        {
            DiffusionModelLog.GenerationStarted(_logger, request.BatchCount, request.Width, request.Height, request.Steps, request.Sampler, request.Schedule, seed);
        }

        var clock = Stopwatch.StartNew();
        var parameters = default(NdGenerateParams);
        parameters.StructSize = (uint)sizeof(NdGenerateParams);
        NativeMethods.nd_generate_params_init(&parameters).ThrowIfFailed("initialising the generation parameters");

        var prompt = NativeUtf8.Encode(request.Prompt);
        var negative = NativeUtf8.Encode(request.NegativePrompt);
        var sampler = NativeUtf8.Encode(request.Sampler);
        var schedule = NativeUtf8.Encode(request.Schedule);
        var spacing = NativeUtf8.Encode(request.TimestepSpacing);
        using var initImage = request.InitImage is { } image ? image.Pixels.Pin() : default(MemoryHandle);
        var self = GCHandle.Alloc(run);
        NdStatus status;
        NdImagesHandle images;
        try
        {
            fixed (byte* promptPtr = prompt, negativePtr = negative, samplerPtr = sampler, schedulePtr = schedule, spacingPtr = spacing)
            {
                parameters.Prompt = promptPtr;
                parameters.NegativePrompt = negativePtr;
                parameters.Width = (uint)request.Width;
                parameters.Height = (uint)request.Height;
                parameters.Steps = (uint)request.Steps;
                parameters.CfgScale = (float)request.CfgScale;
                parameters.Sampler = samplerPtr;
                parameters.Schedule = schedulePtr;
                parameters.TimestepSpacing = spacingPtr;
                parameters.Seed = (ulong)seed;
                parameters.Rng = (NdRng)(int)request.Rng;
                parameters.BatchCount = (uint)request.BatchCount;
                parameters.ClipSkip = (uint)request.ClipSkip;
                parameters.InitImage = (byte*)initImage.Pointer;
                parameters.Strength = (float)request.Strength;
                parameters.Cancel = token.DangerousGetHandle(); // alive: the caller disposes it after this returns
                run.Attach(&parameters, self, request.PreviewInterval);
                status = NativeMethods.nd_generate(_handle, &parameters, out images);
            }
        }
        finally
        {
            self.Free();
        }

        using (images)
        {
            // Read nd_last_error() first: it is thread-local and the next failing call overwrites it.
            var failure = status is NdStatus.Ok or NdStatus.Cancelled ? null : CaptureFailure(status, request);
            run.ThrowIfCallbackFailed();
            if (status == NdStatus.Cancelled)
            {
                if (_logger is not null)
                {
                    DiffusionModelLog.GenerationCancelled(_logger, clock.Elapsed.TotalSeconds);
                }

                throw new OperationCanceledException("The generation was cancelled.", cancellationToken);
            }

            if (failure is not null)
            {
                throw failure;
            }

            ThrowIfLoggingFailed();
            var result = ReadImages(images, request);
            if (_logger is not null)
            {
                DiffusionModelLog.GenerationFinished(_logger, result.Count, clock.Elapsed.TotalSeconds);
            }

            return result;
        }
    }

    private static NativeDiffusionException CaptureFailure(NdStatus status, GenerationRequest request)
    {
        try
        {
            status.ThrowIfFailed($"generating {request.BatchCount} image(s) of {request.Width}x{request.Height} with {request.Sampler}");
        }
        catch (NativeDiffusionException e)
        {
            return e;
        }

        throw new UnreachableException();
    }

    private unsafe List<GeneratedImage> ReadImages(NdImagesHandle images, GenerationRequest request)
    {
        var count = (int)NativeMethods.nd_images_count(images);
        var result = new List<GeneratedImage>(count);
        for (var i = 0; i < count; i++)
        {
            var image = default(NdImage);
            image.StructSize = (uint)sizeof(NdImage);
            NativeMethods.nd_images_get(images, (nuint)i, &image).ThrowIfFailed($"reading image {i}");
            var pixels = GenerationRun.CopyPixels(image);
            // Seeds are at most GenerationRequest.MaxSeed + 63, so they fit.
            var seed = checked((long)image.Seed);
            result.Add(GeneratedImage.FromOwnedBuffer((int)image.Width, (int)image.Height, pixels, CreateSettings(request, seed, (int)image.Width, (int)image.Height)));
        }

        return result;
    }

    /// <summary>The settings of one image in the web UI's terms.</summary>
    internal GenerationSettings CreateSettings(GenerationRequest request, long seed, int width, int height)
    {
        List<KeyValuePair<string, string>> extras = [];
        if (request.Rng == NoiseSource.Cpu)
        {
            // The web UI's default is its GPU generator (ours is Cuda); it records the CPU one.
            extras.Add(new("RNG", "CPU"));
        }

        return new GenerationSettings
        {
            Prompt = request.Prompt,
            NegativePrompt = request.NegativePrompt,
            Steps = request.Steps,
            Sampler = Samplers.DisplayName(request.Sampler),
            ScheduleType = Schedules.DisplayName(request.Schedule),
            CfgScale = request.CfgScale,
            Seed = seed,
            Width = width,
            Height = height,
            ModelName = string.IsNullOrEmpty(Info.Name) ? null : Info.Name,
            ClipSkip = Math.Max(request.ClipSkip, 1),
            DenoisingStrength = request.InitImage is null ? null : request.Strength,
            Version = $"NativeDiffusion {NativeDiffusionLibrary.Version}",
            ExtraParameters = extras,
        };
    }
}
