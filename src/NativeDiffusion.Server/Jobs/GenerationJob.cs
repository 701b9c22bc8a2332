using NativeDiffusion.Images;
using NativeDiffusion.Server.Hosting;

namespace NativeDiffusion.Server.Jobs;

/// <summary>
/// One queued generation: the model and request, the client's token (its connection), and the outcome the HTTP handler
/// awaits. A job ends exactly once: with images, or with a <see cref="RequestRejectedException"/> or cancellation.
/// </summary>
internal sealed class GenerationJob(ServedModel model, GenerationRequest request, CancellationToken clientAborted)
{
    private readonly TaskCompletionSource<IReadOnlyList<GeneratedImage>> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _interrupt = new();

    public string Id { get; } = Guid.NewGuid().ToString("N")[..12];

    public ServedModel Model { get; } = model;

    public GenerationRequest Request { get; } = request;

    /// <summary>Cancelled when the client goes away.</summary>
    public CancellationToken ClientAborted { get; } = clientAborted;

    public DateTimeOffset Queued { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset? Started { get; set; }

    public JobProgress Progress { get; } = new();

    public bool Interrupted => _interrupt.IsCancellationRequested;

    /// <summary>Cancelled by <c>/sdapi/v1/interrupt</c>.</summary>
    public CancellationToken InterruptToken => _interrupt.Token;

    public Task<IReadOnlyList<GeneratedImage>> Outcome => _outcome.Task;

    public void Interrupt()
    {
        _interrupt.Cancel();
    }

    public bool Complete(IReadOnlyList<GeneratedImage> images) => _outcome.TrySetResult(images);

    public bool Fail(Exception error) => _outcome.TrySetException(error);

    public bool Cancel() => _outcome.TrySetCanceled(ClientAborted);
}
