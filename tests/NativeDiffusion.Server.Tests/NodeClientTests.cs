using System.Diagnostics;

namespace NativeDiffusion.Server.Tests;

/// <summary>
/// Real Node clients (the <c>openai</c> package with maxRetries 0, the Vercel AI SDK with <c>@ai-sdk/openai-compatible</c>)
/// against the server on a loopback port, with an API key, and the sample page in headless Chromium. Needs Node 20+ and
/// npm (and Debian's chromium for the page); the packages come from the committed lock file (<c>npm ci</c> in <c>node/</c>).
/// </summary>
public sealed class NodeClientTests : IAsyncLifetime
{
    private const string Key = "node-client-key";
    private readonly ServerFactory _factory = new(ServerFactory.Settings(("ApiKey", Key)));
    private Uri _address = null!;

    private static string NodeFolder => Path.Combine(Fixtures.RepoRoot, "tests", "NativeDiffusion.Server.Tests", "node");

    public async Task InitializeAsync()
    {
        _address = _factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = _address };
        await ServerFactory.WaitUntilAsync(async () => (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task The_openai_and_vercel_ai_node_clients_generate_and_see_errors()
    {
        var install = await InstallAsync();
        Assert.True(install.ExitCode == 0, $"npm ci failed in {NodeFolder}:\n{install.Output}");

        var run = await RunAsync("node", ["--test", "clients.test.mjs"], new Dictionary<string, string>
        {
            ["ND_SERVER_URL"] = _address.ToString(),
            ["ND_API_KEY"] = Key,
            ["ND_MODEL"] = ServerFactory.Model,
        });
        Assert.True(run.ExitCode == 0, $"the Node client tests failed:\n{run.Output}");
        Assert.Contains("# pass 6", run.Output, StringComparison.Ordinal);
        Assert.Contains("# fail 0", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_generates_with_previews_in_headless_chromium()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: the page test needs Debian's chromium package (apt-get install chromium; .ci/run installs it).");
        var install = await InstallAsync();
        Assert.True(install.ExitCode == 0, $"npm ci failed in {NodeFolder}:\n{install.Output}");

        // The page sends no key until one is typed: this server runs with one, so serve the page from a keyless one.
        await using var open = new ServerFactory();
        var address = open.StartOnLoopback();
        using (var client = new HttpClient { BaseAddress = address })
        {
            await ServerFactory.WaitUntilAsync(async () => (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");
        }

        var run = await RunAsync("node", ["--test", "page.test.mjs"], new Dictionary<string, string>
        {
            ["ND_SERVER_URL"] = address.ToString(),
            ["ND_CHROMIUM"] = chromium,
        });
        Assert.True(run.ExitCode == 0, $"the page test failed:\n{run.Output}");
        Assert.Contains("# pass 1", run.Output, StringComparison.Ordinal);
        Assert.Contains("# fail 0", run.Output, StringComparison.Ordinal);
    }

    private static readonly SemaphoreSlim s_install = new(1, 1);
    private static (int ExitCode, string Output)? s_installed;

    /// <summary>Runs <c>npm ci</c> once for the tests of this class (they may run in parallel).</summary>
    private static async Task<(int ExitCode, string Output)> InstallAsync()
    {
        await s_install.WaitAsync();
        try
        {
            return s_installed ??= await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], new Dictionary<string, string>());
        }
        finally
        {
            s_install.Release();
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = NodeFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"'{program}' could not be started ({e.Message}): these tests need Node 20 or later and npm on PATH (Debian: apt-get install nodejs npm).");
            throw;
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + await error);
        }
    }
}
