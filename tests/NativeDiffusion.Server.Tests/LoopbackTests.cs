using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using OpenAI;
using OpenAI.Images;

namespace NativeDiffusion.Server.Tests;

/// <summary>The server on a loopback port (Kestrel), with real HTTP clients: a bounded load test and the OpenAI .NET SDK.</summary>
public sealed class LoopbackTests : IAsyncLifetime
{
    private readonly ServerFactory _factory = new(ServerFactory.Settings(("QueueCapacity", 8), ("Concurrency", 1)));
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _address = _factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = _address };
        await ServerFactory.WaitUntilAsync(async () => (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the models to load");
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public async Task Forty_concurrent_requests_with_a_queue_of_8_get_200_or_429_and_each_image_is_its_own_seed()
    {
        using var client = new HttpClient { BaseAddress = _address };
        object Body(long seed) => new { prompt = "load", steps = 6, width = 128, height = 128, seed };

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var seed = 1000L + i;
            var response = await client.PostAsJsonAsync(new Uri("/sdapi/v1/txt2img", UriKind.Relative), Body(seed));
            return (Seed: seed, Status: response.StatusCode, Body: await response.Content.ReadAsStringAsync(), response.Headers.RetryAfter);
        }));

        Assert.All(responses, r => Assert.True(r.Status is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{r.Status}: {r.Body}"));
        Assert.All(responses.Where(r => r.Status == HttpStatusCode.TooManyRequests), r => Assert.NotNull(r.RetryAfter));
        var succeeded = responses.Where(r => r.Status == HttpStatusCode.OK).ToList();
        Assert.NotEmpty(succeeded);

        foreach (var (seed, _, body, _) in succeeded)
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
            Assert.Equal(seed, Http.ParseInfo(json)["seed"]!.GetValue<long>());
            var image = TestImages.FromBase64(json["images"]![0]!.GetValue<string>());
            Assert.Equal(seed, image.Settings!.Seed);

            // Nothing mixed up: the same seed alone, with nothing else running, gives the same pixels.
            var alone = await (await client.PostAsJsonAsync(new Uri("/sdapi/v1/txt2img", UriKind.Relative), Body(seed))).OkJsonAsync();
            Assert.True(TestImages.SamePixels(image, TestImages.FromBase64(alone["images"]![0]!.GetValue<string>())), $"seed {seed} differs from its image made alone");
        }
    }

    private ImageClient OpenAiClient(string model) => new(
        model,
        new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(_address, "v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    [Fact]
    public async Task The_openai_dotnet_sdk_generates_images()
    {
        var result = await OpenAiClient(ServerFactory.Model).GenerateImagesAsync(
            "a watercolor fox",
            2,
            new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes, Size = new GeneratedImageSize(64, 64) });

        Assert.Equal(2, result.Value.Count);
        Assert.True(result.Value.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-5));
        foreach (var generated in result.Value)
        {
            var image = NativeDiffusion.Images.GeneratedImage.Decode(generated.ImageBytes.ToArray());
            Assert.Equal((64, 64), (image.Width, image.Height));
            Assert.Equal("a watercolor fox", image.Settings!.Prompt);
        }
    }

    [Fact]
    public async Task The_openai_dotnet_sdk_sees_an_unknown_model_as_a_400_naming_it()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => OpenAiClient("dall-e-3").GenerateImageAsync("x"));
        Assert.Equal(400, error.Status);
        Assert.Contains("dall-e-3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_openai_dotnet_sdk_sees_url_results_refused()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            OpenAiClient(ServerFactory.Model).GenerateImageAsync("x", new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Uri }));
        Assert.Equal(400, error.Status);
        Assert.Contains("response_format", error.Message, StringComparison.Ordinal);
    }
}
