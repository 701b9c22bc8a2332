using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NativeDiffusion.Server.Tests;

public sealed class OpenAiImagesTests(SharedServer server) : IClassFixture<SharedServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Generations_answer_created_and_b64_json_images()
    {
        var response = await (await _client.PostJsonAsync("/v1/images/generations", new { prompt = "a lighthouse", model = "tiny", n = 2, size = "64x64" })).OkJsonAsync();

        WebUiShapes.AssertExactKeys(response, ["created", "data"], "images response");
        Assert.InRange(response["created"]!.GetValue<long>(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        var data = response["data"]!.AsArray();
        Assert.Equal(2, data.Count);
        var first = TestImages.FromBase64(data[0]!["b64_json"]!.GetValue<string>());
        var second = TestImages.FromBase64(data[1]!["b64_json"]!.GetValue<string>());
        Assert.Equal((64, 64), (first.Width, first.Height));
        Assert.Equal(first.Settings!.Seed + 1, second.Settings!.Seed);
        Assert.Equal("a lighthouse", first.Settings.Prompt);
        Assert.Equal(2, first.Settings.Steps); // the model's configured DefaultSteps
    }

    [Theory]
    [InlineData("97x70", 96, 72)] // rounded to multiples of 8
    [InlineData("64x64", 64, 64)]
    [InlineData("auto", 64, 64)] // the model's default size
    [InlineData(null, 64, 64)]
    [InlineData("20x20", 64, 64)] // the smallest side
    public async Task Sizes_map_onto_multiples_of_8_the_model_supports(string? size, int width, int height)
    {
        var response = await (await _client.PostJsonAsync("/v1/images/generations", new { prompt = "s", size })).OkJsonAsync();
        var image = TestImages.FromBase64(response["data"]![0]!["b64_json"]!.GetValue<string>());
        Assert.Equal((width, height), (image.Width, image.Height));
    }

    [Fact]
    public async Task Output_format_jpeg_returns_a_jpeg()
    {
        var response = await (await _client.PostJsonAsync("/v1/images/generations", new { prompt = "j", size = "64x64", output_format = "jpeg" })).OkJsonAsync();
        var bytes = Convert.FromBase64String(response["data"]![0]!["b64_json"]!.GetValue<string>());
        Assert.Equal([0xFF, 0xD8], bytes[..2]);
    }

    [Fact]
    public async Task The_seed_extension_makes_results_reproducible()
    {
        async Task<NativeDiffusion.Images.GeneratedImage> Generate() => TestImages.FromBase64(
            (await (await _client.PostJsonAsync("/v1/images/generations", new { prompt = "r", size = "64x64", seed = 77 })).OkJsonAsync())["data"]![0]!["b64_json"]!.GetValue<string>());
        var a = await Generate();
        var b = await Generate();
        Assert.Equal(77, a.Settings!.Seed);
        Assert.True(TestImages.SamePixels(a, b));
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { """{"prompt":"x","response_format":"url"}""", "response_format", "not supported" },
        { """{"prompt":"x","response_format":"base64"}""", "response_format", "b64_json" },
        { """{"prompt":"x","model":"dall-e-3"}""", "model", "tiny" },
        { """{"prompt":"x","size":"big"}""", "size", "WIDTHxHEIGHT" },
        { """{"prompt":"x","size":"1024x"}""", "size", "WIDTHxHEIGHT" },
        { """{"prompt":"x","n":0}""", "n", "n must be" },
        { """{"prompt":"x","n":9}""", "n", "n must be" },
        { """{"prompt":"x","output_format":"gif"}""", "output_format", "png" },
        { """{"model":"tiny"}""", "prompt", "required" },
        { """{"prompt":5}""", "prompt", "prompt" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Invalid_requests_are_400_in_openai_error_shape(string body, string param, string messagePart)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await _client.PostAsync(new Uri("/v1/images/generations", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = await response.JsonAsync();
        WebUiShapes.AssertExactKeys(json, ["error"], "OpenAI error");
        var error = json["error"]!.AsObject();
        WebUiShapes.AssertExactKeys(error, ["message", "type", "param", "code"], "OpenAI error object");
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Contains(messagePart, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sizes_over_the_pixel_limit_are_scaled_down_keeping_the_aspect()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("MaxPixels", 128 * 128)));
        var client = await factory.ReadyClientAsync();
        var response = await (await client.PostJsonAsync("/v1/images/generations", new { prompt = "big", size = "1024x512" })).OkJsonAsync();
        var image = TestImages.FromBase64(response["data"]![0]!["b64_json"]!.GetValue<string>());
        Assert.True(image.Width * image.Height <= 128 * 128, $"{image.Width}x{image.Height}");
        Assert.Equal(2.0, image.Width / (double)image.Height, 1);
        Assert.Equal(0, image.Width % 8);
        Assert.Equal(JsonValueKind.Object, response.GetValueKind());
    }
}
