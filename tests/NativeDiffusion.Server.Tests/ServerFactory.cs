using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Tests;

/// <summary>
/// The server in process, serving the tiny fixture model as <c>tiny</c> (plus <paramref name="settings"/>); on a loopback
/// port with <see cref="StartOnLoopback"/>. Configuration goes through the same keys a user sets.
/// </summary>
internal sealed class ServerFactory(IReadOnlyDictionary<string, string?>? settings = null, bool withModel = true) : WebApplicationFactory<Program>
{
    public const string Model = "tiny";

    public static IReadOnlyDictionary<string, string?> Settings(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value is null ? null : Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (withModel)
        {
            builder.UseSetting("Models:0:Name", Model);
            builder.UseSetting("Models:0:Path", Fixtures.TinyModel);
            builder.UseSetting("Models:0:Tokenizer", Fixtures.Tokenizer);
            builder.UseSetting("Models:0:DefaultWidth", "64");
            builder.UseSetting("Models:0:DefaultHeight", "64");
            builder.UseSetting("Models:0:DefaultSteps", "2");
        }

        builder.UseSetting("MaxSteps", "1000");
        builder.UseSetting("PreviewInterval", "1");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>Serves on a free loopback port with Kestrel; returns its address.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel(0);
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal)));
    }

    public GenerationQueue Queue => Services.GetRequiredService<GenerationQueue>();

    public GenerationWorker Worker => Services.GetServices<IHostedService>().OfType<GenerationWorker>().Single();

    /// <summary>A client once <c>/readyz</c> says the models are loaded.</summary>
    public async Task<HttpClient> ReadyClientAsync()
    {
        var client = CreateClient();
        await WaitUntilAsync(async () => (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");
        return client;
    }

    /// <summary>Waits for <paramref name="condition"/>; fails after a generous bound (a hang, never a speed check).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 1200; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Gave up waiting for {what}.");
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);
}

/// <summary>Requests and responses as JSON.</summary>
internal static class Http
{
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, CancellationToken cancellationToken = default) =>
        client.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, cancellationToken);

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static async Task<JsonObject> OkJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public static JsonObject ParseInfo(JsonObject response)
    {
        var info = response["info"]!;
        Assert.Equal(JsonValueKind.String, info.GetValueKind());
        return JsonNode.Parse(info.GetValue<string>())!.AsObject();
    }
}
