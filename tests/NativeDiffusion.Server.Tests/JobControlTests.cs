using System.Net;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

/// <summary>Queue limits, progress, interrupt, client disconnect and shutdown, each on a server of its own.</summary>
public sealed class JobControlTests
{
    // Long enough to be caught running (about a thousand steps at 256x256), and stopped by the test.
    internal static readonly object LongJob = new { prompt = "long", steps = 1000, width = 256, height = 256, seed = 1 };
    internal static readonly object ShortJob = new { prompt = "short", steps = 2, width = 64, height = 64, seed = 2 };

    internal static async Task<JsonObject> ProgressAsync(HttpClient client) =>
        JsonNode.Parse(await client.GetStringAsync(new Uri("/sdapi/v1/progress", UriKind.Relative)))!.AsObject();

    internal static Task WaitForRunningStepAsync(HttpClient client) =>
        ServerFactory.WaitUntilAsync(async () => (await ProgressAsync(client))["state"]!["sampling_step"]!.GetValue<int>() > 0, "the long job to sample");

    [Fact]
    public async Task Progress_reports_steps_and_a_preview_while_a_job_runs_and_interrupt_stops_it()
    {
        await using var factory = new ServerFactory();
        var client = await factory.ReadyClientAsync();
        var running = client.PostJsonAsync("/sdapi/v1/txt2img", LongJob);
        await WaitForRunningStepAsync(client);
        await ServerFactory.WaitUntilAsync(async () => (await ProgressAsync(client))["current_image"] is not null, "a preview");

        var progress = await ProgressAsync(client);
        WebUiShapes.AssertHasKeys(progress, WebUiShapes.Progress, "progress");
        var state = progress["state"]!.AsObject();
        WebUiShapes.AssertHasKeys(state, WebUiShapes.ProgressState, "progress state");
        Assert.Equal(1000, state["sampling_steps"]!.GetValue<int>());
        Assert.InRange(progress["progress"]!.GetValue<double>(), 0.0, 1.0);
        var preview = TestImages.FromBase64(progress["current_image"]!.GetValue<string>());
        Assert.True(preview.Width > 0 && preview.Height > 0);
        Assert.True(JsonNode.Parse(await client.GetStringAsync(new Uri("/sdapi/v1/progress?skip_current_image=true", UriKind.Relative)))!["current_image"] is null);

        var interrupt = await client.PostAsync(new Uri("/sdapi/v1/interrupt", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, interrupt.StatusCode);
        var response = await running;
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("interrupted", (await response.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // The server goes on: the next job runs.
        await (await client.PostJsonAsync("/sdapi/v1/txt2img", ShortJob)).OkJsonAsync();
        Assert.Equal(0, (await ProgressAsync(client))["progress"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after_and_loses_no_queued_job()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("QueueCapacity", 1), ("Concurrency", 1)));
        var client = await factory.ReadyClientAsync();
        var running = client.PostJsonAsync("/sdapi/v1/txt2img", LongJob);
        await WaitForRunningStepAsync(client);
        var queued = client.PostJsonAsync("/sdapi/v1/txt2img", ShortJob);
        await ServerFactory.WaitUntilAsync(() => factory.Queue.Queued == 1, "the second job to queue");

        var rejected = await client.PostJsonAsync("/sdapi/v1/txt2img", ShortJob);
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.True(rejected.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, "429 must carry Retry-After in seconds");
        var body = await rejected.JsonAsync();
        Assert.Equal(429, body["status"]!.GetValue<int>());
        WebUiShapes.AssertHasKeys(body, WebUiShapes.Error, "429 body");

        var openAi = await client.PostJsonAsync("/v1/images/generations", new { prompt = "x", size = "64x64" });
        Assert.Equal(HttpStatusCode.TooManyRequests, openAi.StatusCode);
        Assert.NotNull(openAi.Headers.RetryAfter);
        Assert.Equal("rate_limit_error", (await openAi.JsonAsync())["error"]!["type"]!.GetValue<string>());

        await client.PostAsync(new Uri("/sdapi/v1/interrupt", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Conflict, (await running).StatusCode);
        var info = Http.ParseInfo(await (await queued).OkJsonAsync()); // the queued job was kept and ran
        Assert.Equal(2, info["seed"]!.GetValue<long>());
    }

    [Fact]
    public async Task Shutdown_answers_queued_jobs_503_and_lets_the_running_one_finish_within_the_grace_period()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("QueueCapacity", 4), ("ShutdownGracePeriod", "00:05:00")));
        var client = await factory.ReadyClientAsync();
        var running = client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "finishing", steps = 60, width = 256, height = 256, seed = 8 });
        await WaitForRunningStepAsync(client);
        var queued = Enumerable.Range(0, 3).Select(i => client.PostJsonAsync("/sdapi/v1/txt2img", ShortJob)).ToList();
        await ServerFactory.WaitUntilAsync(() => factory.Queue.Queued == 3, "three jobs to queue");

        await factory.Worker.StopAsync(CancellationToken.None);

        Assert.Equal(8, Http.ParseInfo(await (await running).OkJsonAsync())["seed"]!.GetValue<long>());
        foreach (var response in await Task.WhenAll(queued))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("shut down", (await response.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var late = await client.PostJsonAsync("/v1/images/generations", new { prompt = "late" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
        Assert.Equal("shutting_down", (await late.JsonAsync())["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Shutdown_cancels_a_running_job_that_outlasts_the_grace_period_with_503()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("ShutdownGracePeriod", "00:00:00.2")));
        var client = await factory.ReadyClientAsync();
        var running = client.PostJsonAsync("/sdapi/v1/txt2img", LongJob);
        await WaitForRunningStepAsync(client);

        await factory.Worker.StopAsync(CancellationToken.None);

        var response = await running;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("grace period", (await response.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(response.Headers.RetryAfter);
    }
}
