namespace NativeDiffusion.Server.Tests;

/// <summary>Clients that go away, on a loopback port: their jobs are cancelled, running or queued.</summary>
public sealed class DisconnectTests : IAsyncLifetime
{
    private readonly ServerFactory _factory = new(ServerFactory.Settings(("QueueCapacity", 4)));
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _client = new HttpClient { BaseAddress = _factory.StartOnLoopback() };
        await ServerFactory.WaitUntilAsync(async () => (await _client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_running_job()
    {
        using var abandon = new CancellationTokenSource();
        var running = _client.PostJsonAsync("/sdapi/v1/txt2img", JobControlTests.LongJob, abandon.Token);
        await JobControlTests.WaitForRunningStepAsync(_client);

        await abandon.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await ServerFactory.WaitUntilAsync(() => _factory.Queue.Running == 0, "the abandoned job to stop");
        await (await _client.PostJsonAsync("/sdapi/v1/txt2img", JobControlTests.ShortJob)).OkJsonAsync();
    }

    [Fact]
    public async Task A_client_that_disconnects_while_queued_never_runs()
    {
        var running = _client.PostJsonAsync("/sdapi/v1/txt2img", JobControlTests.LongJob);
        await JobControlTests.WaitForRunningStepAsync(_client);
        using var abandon = new CancellationTokenSource();
        var queued = _client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "left", steps = 1000, width = 256, height = 256, seed = 5 }, abandon.Token);
        await ServerFactory.WaitUntilAsync(() => _factory.Queue.Queued == 1, "the second job to queue");
        await abandon.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);

        await _client.PostAsync(new Uri("/sdapi/v1/interrupt", UriKind.Relative), null);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, (await running).StatusCode);
        // The abandoned job is skipped, not run: the worker is idle again without another interrupt.
        await ServerFactory.WaitUntilAsync(() => _factory.Queue.Running == 0 && _factory.Queue.Queued == 0, "the queue to empty");
        await (await _client.PostJsonAsync("/sdapi/v1/txt2img", JobControlTests.ShortJob)).OkJsonAsync();
    }
}
