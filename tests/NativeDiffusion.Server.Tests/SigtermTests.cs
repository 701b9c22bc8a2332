using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

/// <summary>The server as its own process, stopped with SIGTERM as a container runtime or systemd stops it.</summary>
public sealed class SigtermTests
{
    [Fact]
    public async Task Sigterm_finishes_the_running_job_answers_the_queued_one_503_and_exits_0()
    {
        var server = Path.Combine(AppContext.BaseDirectory, "NativeDiffusion.Server.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[]
        {
            server, "--urls", "http://127.0.0.1:0", "--Models:0:Name=tiny", $"--Models:0:Path={Fixtures.TinyModel}",
            $"--Models:0:Tokenizer={Fixtures.Tokenizer}", "--ShutdownGracePeriod=00:05:00", "--PreviewInterval=0",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            const string marker = "Now listening on: ";
            if (e.Data?.IndexOf(marker, StringComparison.Ordinal) is >= 0 and var at)
            {
                listening.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Trim()));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromMinutes(2));
            using var client = new HttpClient { BaseAddress = address };
            await ServerFactory.WaitUntilAsync(async () => (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");

            var running = client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "finishing", steps = 60, width = 256, height = 256, seed = 21 });
            await JobControlTests.WaitForRunningStepAsync(client);
            var queued = client.PostJsonAsync("/sdapi/v1/txt2img", JobControlTests.ShortJob);
            await ServerFactory.WaitUntilAsync(async () => (await JobControlTests.ProgressAsync(client))["state"]!["queued"]!.GetValue<int>() == 1, "the second job to queue");

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            var queuedResponse = await queued;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, queuedResponse.StatusCode);
            Assert.Contains("shut down before this job started", (await queuedResponse.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            var finished = await (await running).OkJsonAsync();
            Assert.Equal(21, Http.ParseInfo(finished)["seed"]!.GetValue<long>());

            using var exit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(exit.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{output}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
