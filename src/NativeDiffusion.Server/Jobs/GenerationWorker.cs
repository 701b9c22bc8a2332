using Microsoft.Extensions.Options;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Hosting;

namespace NativeDiffusion.Server.Jobs;

/// <summary>
/// Owns the models and runs the queued jobs, <see cref="ServerOptions.Concurrency"/> at a time. At shutdown it stops
/// taking work, answers queued jobs 503, lets running ones finish within <see cref="ServerOptions.ShutdownGracePeriod"/>,
/// cancels the rest, then frees the models. That runs in <see cref="StoppingAsync"/>, before the web server stops: in-flight
/// requests get their answers (images or 503) while connections are still open.
/// </summary>
internal sealed class GenerationWorker(
    GenerationQueue queue,
    ModelStore models,
    IOptions<ServerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<GenerationWorker> logger) : IHostedLifecycleService, IAsyncDisposable
{
    private readonly ServerOptions _options = options.Value;
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _abortRunning = new();
    private readonly Lock _shutdownLock = new();
    private Task _loops = Task.CompletedTask;
    private Task? _shutdown;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // SIGTERM: refuse new work at once, before the hosted services are stopped one by one.
        lifetime.ApplicationStopping.Register(queue.StopAccepting);
        _loops = RunAsync();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called before any hosted service stops (the web server included): drains the queue and the running jobs.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => ShutdownAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await ShutdownAsync(cancellationToken).ConfigureAwait(false);
        await models.DisposeAsync().ConfigureAwait(false);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task ShutdownAsync(CancellationToken cancellationToken)
    {
        lock (_shutdownLock)
        {
            return _shutdown ??= DrainAsync(cancellationToken);
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        queue.StopAccepting();
        await _stopReading.CancelAsync().ConfigureAwait(false);
        var drained = queue.DrainQueued();
        ServerLog.ShuttingDown(logger, drained, queue.Running, _options.ShutdownGracePeriod.TotalSeconds);
        try
        {
            await _loops.WaitAsync(_options.ShutdownGracePeriod, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            ServerLog.CancellingRunningJobs(logger, queue.Running);
            await _abortRunning.CancelAsync().ConfigureAwait(false);
            await _loops.ConfigureAwait(false);
        }

        queue.DrainQueued(); // a job a loop took just before stopping and never started
    }

    public ValueTask DisposeAsync()
    {
        _stopReading.Dispose();
        _abortRunning.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        try
        {
            await models.LoadAllAsync(_stopReading.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // stopped while loading
        }

        await Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(LoopAsync))).ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            GenerationJob job;
            try
            {
                if (!await queue.Reader.WaitToReadAsync(_stopReading.Token).ConfigureAwait(false) || !queue.Reader.TryRead(out job!))
                {
                    if (queue.Reader.Completion.IsCompleted)
                    {
                        return;
                    }

                    continue;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_stopReading.IsCancellationRequested)
            {
                job.Fail(GenerationQueue.ShuttingDown("The server shut down before this job started; nothing was generated. Retry on another instance."));
                continue;
            }

            await RunJobAsync(job).ConfigureAwait(false);
        }
    }

    private async Task RunJobAsync(GenerationJob job)
    {
        if (job.ClientAborted.IsCancellationRequested)
        {
            job.Cancel(); // the client left while it waited
            return;
        }

        queue.MarkStarted(job);
        var succeeded = false;
        using var run = CancellationTokenSource.CreateLinkedTokenSource(job.ClientAborted, job.InterruptToken, _abortRunning.Token);
        try
        {
            ServerLog.JobStarted(logger, job.Id, job.Model.Name, job.Request.BatchCount, job.Request.Width, job.Request.Height, job.Request.Steps);
            await foreach (var update in job.Model.Model.GenerateStreamingAsync(job.Request, run.Token).ConfigureAwait(false))
            {
                switch (update)
                {
                    case GenerationProgressUpdate p:
                        job.Progress.Report(p.Progress);
                        break;
                    case GenerationPreviewUpdate p:
                        job.Progress.ReportPreview(p.Preview);
                        break;
                    case GenerationCompletedUpdate done:
                        succeeded = job.Complete(done.Images);
                        break;
                }
            }

            ServerLog.JobFinished(logger, job.Id, (DateTimeOffset.UtcNow - job.Started!.Value).TotalSeconds);
        }
        catch (OperationCanceledException)
        {
            if (job.ClientAborted.IsCancellationRequested)
            {
                ServerLog.JobAbandoned(logger, job.Id);
                job.Cancel();
            }
            else if (job.Interrupted)
            {
                ServerLog.JobInterrupted(logger, job.Id);
                job.Fail(new RequestRejectedException(
                    StatusCodes.Status409Conflict,
                    "The job was interrupted (POST /sdapi/v1/interrupt) before it finished; no image was made.",
                    code: "interrupted"));
            }
            else
            {
                job.Fail(GenerationQueue.ShuttingDown(
                    $"The server shut down and the job did not finish within the grace period ({_options.ShutdownGracePeriod.TotalSeconds:0} s); retry on another instance."));
            }
        }
        catch (Exception e)
        {
            ServerLog.JobFailed(logger, job.Id, e);
            job.Fail(e);
        }
        finally
        {
            queue.MarkFinished(job, succeeded);
        }
    }
}
