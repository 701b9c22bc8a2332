using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using NativeDiffusion.Images;
using NativeDiffusion.Interop;

namespace NativeDiffusion;

/// <summary>
/// The managed state of one <c>nd_generate</c> call, reached from the native callbacks through a <see cref="GCHandle"/>
/// in <c>user_data</c>. The callbacks never let an exception unwind into native code: the first one is recorded, the run
/// is cancelled, and the caller rethrows it once <c>nd_generate</c> has returned.
/// </summary>
internal sealed unsafe class GenerationRun
{
    private readonly IProgress<GenerationProgress>? _progress;
    private readonly ChannelWriter<GenerationUpdate>? _updates;
    private readonly NdCancelTokenHandle _cancel;
    private ExceptionDispatchInfo? _failure;
    private int _image;
    private int _lastStep;
    private double _stepSeconds;
    private int _stepsTimed;

    public GenerationRun(IProgress<GenerationProgress>? progress, ChannelWriter<GenerationUpdate>? updates, NdCancelTokenHandle cancel)
    {
        _progress = progress;
        _updates = updates;
        _cancel = cancel;
    }

    /// <summary>Whether anyone takes previews (only the streaming API does).</summary>
    public bool WantsPreviews => _updates is not null;

    /// <summary>Whether anyone takes progress reports.</summary>
    public bool WantsProgress => _progress is not null || _updates is not null;

    /// <summary>Rethrows the first exception a callback caught, if any.</summary>
    public void ThrowIfCallbackFailed() => _failure?.Throw();

    /// <summary>Fills the callback fields of <paramref name="parameters"/>; <paramref name="self"/> is this run's handle.</summary>
    public void Attach(NdGenerateParams* parameters, GCHandle self, int previewInterval)
    {
        var userData = (void*)GCHandle.ToIntPtr(self);
        if (WantsProgress)
        {
            parameters->Progress = &OnNativeProgress;
            parameters->ProgressUserData = userData;
        }

        if (WantsPreviews && previewInterval > 0)
        {
            parameters->Preview = &OnNativePreview;
            parameters->PreviewUserData = userData;
            parameters->PreviewInterval = (uint)previewInterval;
        }
    }

    /// <summary>Copies an <c>nd_image</c> (rows of <c>stride</c> bytes) into a tightly packed RGB array.</summary>
    public static byte[] CopyPixels(in NdImage image)
    {
        if (image.Channels != 3 || image.Width == 0 || image.Height == 0 || image.Stride < (nuint)image.Width * 3)
        {
            throw new NativeDiffusionException(
                $"The engine returned an image of {image.Width}x{image.Height}x{image.Channels} with a stride of {image.Stride} bytes, which is not RGB.");
        }

        var row = checked((int)image.Width * 3);
        var pixels = GC.AllocateUninitializedArray<byte>(checked(row * (int)image.Height));
        for (var y = 0; y < (int)image.Height; y++)
        {
            new ReadOnlySpan<byte>(image.Pixels + (nuint)y * image.Stride, row).CopyTo(pixels.AsSpan(y * row, row));
        }

        return pixels;
    }

    private void Report(in NdProgress native)
    {
        var stage = (GenerationStage)(int)native.Stage;
        _image = (int)native.Image;
        if (stage == GenerationStage.Sampling && (int)native.Step != _lastStep && native.Step > 0)
        {
            _stepSeconds += native.SecondsLastStep;
            _stepsTimed++;
        }

        _lastStep = (int)native.Step;
        TimeSpan? remaining = null;
        if (_stepsTimed > 0 && stage == GenerationStage.Sampling)
        {
            var stepsLeft = (long)(native.Steps - native.Step) + ((long)native.Images - native.Image - 1) * native.Steps;
            remaining = TimeSpan.FromSeconds(_stepSeconds / _stepsTimed * Math.Max(stepsLeft, 0));
        }

        var progress = new GenerationProgress(
            stage,
            (int)native.Step,
            (int)native.Steps,
            (int)native.Image,
            (int)native.Images,
            TimeSpan.FromSeconds(native.SecondsLastStep),
            TimeSpan.FromSeconds(native.SecondsElapsed),
            remaining);
        _progress?.Report(progress);
        _updates?.TryWrite(new GenerationProgressUpdate(progress));
    }

    private void Preview(in NdImage native, int step)
    {
        var preview = GeneratedImage.FromOwnedBuffer((int)native.Width, (int)native.Height, CopyPixels(native));
        _updates?.TryWrite(new GenerationPreviewUpdate(preview, step, _image));
    }

    private void Fail(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(exception), null) is null)
        {
            NativeMethods.nd_cancel_token_cancel(_cancel); // stop the engine soon; the caller rethrows
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnNativeProgress(NdProgress* progress, void* userData)
    {
        GenerationRun? run = null;
        try
        {
            run = (GenerationRun?)GCHandle.FromIntPtr((nint)userData).Target;
            run?.Report(*progress);
        }
        catch (Exception e)
        {
            run?.Fail(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnNativePreview(NdImage* preview, uint step, void* userData)
    {
        GenerationRun? run = null;
        try
        {
            run = (GenerationRun?)GCHandle.FromIntPtr((nint)userData).Target;
            run?.Preview(*preview, (int)step);
        }
        catch (Exception e)
        {
            run?.Fail(e);
        }
    }
}
