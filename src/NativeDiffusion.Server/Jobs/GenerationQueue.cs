using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NativeDiffusion.Images;
using NativeDiffusion.Server.Configuration;

namespace NativeDiffusion.Server.Jobs;

/// <summary>
/// The bounded queue between the HTTP handlers and <see cref="GenerationWorker"/>: handlers submit jobs and await them;
/// a full queue is a 429, a stopping server a 503; a client that disconnects cancels its job, queued or running.
/// </summary>
internal sealed class GenerationQueue
{
    private readonly Channel<GenerationJob> _channel;
    private readonly ConcurrentDictionary<string, GenerationJob> _running = new();
    private readonly int _concurrency;
    private volatile bool _stopping;
    private long _meanJobTicks = TimeSpan.FromSeconds(5).Ticks;
    private volatile GenerationJob? _latest;

    public GenerationQueue(IOptions<ServerOptions> options)
    {
        _concurrency = options.Value.Concurrency;
        _channel = Channel.CreateBounded<GenerationJob>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller answers 429
            SingleWriter = false,
            SingleReader = false,
        });
    }

    /// <summary>Jobs waiting for a worker.</summary>
    public int Queued => _channel.Reader.Count;

    /// <summary>Jobs running now.</summary>
    public int Running => _running.Count;

    public bool IsStopping => _stopping;

    /// <summary>The job that started last and still runs, for <c>/sdapi/v1/progress</c>; null when idle.</summary>
    public GenerationJob? Current => _latest is { } job && _running.ContainsKey(job.Id) ? job : _running.Values.FirstOrDefault();

    internal ChannelReader<GenerationJob> Reader => _channel.Reader;

    /// <summary>Queues <paramref name="job"/> and waits for its images.</summary>
    /// <exception cref="RequestRejectedException">429 when the queue is full, 503 when the server is stopping, 409 when interrupted.</exception>
    /// <exception cref="OperationCanceledException">The client went away.</exception>
    public async Task<IReadOnlyList<GeneratedImage>> RunAsync(GenerationJob job)
    {
        if (_stopping)
        {
            throw ShuttingDown("The server is shutting down and takes no new work; retry on another instance.");
        }

        if (!_channel.Writer.TryWrite(job))
        {
            if (_stopping)
            {
                throw ShuttingDown("The server is shutting down and takes no new work; retry on another instance.");
            }

            throw new RequestRejectedException(
                StatusCodes.Status429TooManyRequests,
                $"The queue is full ({Queued} jobs waiting, {Running} running): retry later.",
                code: "queue_full")
            { RetryAfterSeconds = EstimateWaitSeconds() };
        }

        return await job.Outcome.ConfigureAwait(false);
    }

    /// <summary>Stops the jobs running now (the web UI's interrupt); queued jobs go on.</summary>
    public int InterruptRunning()
    {
        var jobs = _running.Values.ToList();
        foreach (var job in jobs)
        {
            job.Interrupt();
        }

        return jobs.Count;
    }

    /// <summary>Takes no more jobs; those still queued are answered 503 by <see cref="DrainQueued"/>.</summary>
    public void StopAccepting()
    {
        _stopping = true;
        _channel.Writer.TryComplete();
    }

    /// <summary>Answers every job still waiting with 503; returns how many.</summary>
    public int DrainQueued()
    {
        var count = 0;
        while (_channel.Reader.TryRead(out var job))
        {
            job.Fail(ShuttingDown("The server shut down before this job started; nothing was generated. Retry on another instance."));
            count++;
        }

        return count;
    }

    internal void MarkStarted(GenerationJob job)
    {
        job.Started = DateTimeOffset.UtcNow;
        _running[job.Id] = job;
        _latest = job;
    }

    internal void MarkFinished(GenerationJob job, bool succeeded)
    {
        _running.TryRemove(job.Id, out _);
        if (succeeded && job.Started is { } started)
        {
            var ticks = (DateTimeOffset.UtcNow - started).Ticks;
            Interlocked.Exchange(ref _meanJobTicks, (Interlocked.Read(ref _meanJobTicks) * 3 + ticks) / 4);
        }
    }

    internal static RequestRejectedException ShuttingDown(string message) =>
        new(StatusCodes.Status503ServiceUnavailable, message, code: "shutting_down") { RetryAfterSeconds = 5 };

    private int EstimateWaitSeconds()
    {
        var jobsAhead = Queued + Running;
        var seconds = TimeSpan.FromTicks(Interlocked.Read(ref _meanJobTicks)).TotalSeconds * jobsAhead / _concurrency;
        return (int)Math.Clamp(Math.Ceiling(seconds), 1, 3600);
    }
}
