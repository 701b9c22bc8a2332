using System.Net;
using System.Net.Http.Headers;

namespace NativeDiffusion.Server.Tests;

public sealed class ApiKeyTests : IAsyncLifetime
{
    private const string Key = "test-key-0123456789";
    private readonly ServerFactory _factory = new(ServerFactory.Settings(("ApiKey", Key)));
    private HttpClient _client = null!;

    public async Task InitializeAsync() => _client = await _factory.ReadyClientAsync(); // /readyz needs no key

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Theory]
    [InlineData("GET", "/sdapi/v1/samplers")]
    [InlineData("GET", "/sdapi/v1/schedulers")]
    [InlineData("GET", "/sdapi/v1/sd-models")]
    [InlineData("GET", "/sdapi/v1/options")]
    [InlineData("GET", "/sdapi/v1/progress")]
    [InlineData("POST", "/sdapi/v1/interrupt")]
    [InlineData("POST", "/sdapi/v1/txt2img")]
    [InlineData("POST", "/sdapi/v1/img2img")]
    [InlineData("POST", "/v1/images/generations")]
    [InlineData("GET", "/openapi/v1.json")]
    public async Task Every_endpoint_but_health_needs_the_key(string method, string path)
    {
        async Task<HttpResponseMessage> Send(string? key)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
            if (method == "POST")
            {
                request.Content = new StringContent("""{"prompt":"k","steps":2,"width":64,"height":64,"size":"64x64","init_images":[]}""", System.Text.Encoding.UTF8, "application/json");
            }

            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            return await _client.SendAsync(request);
        }

        var none = await Send(null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send("wrong-key")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(Key + "x")).StatusCode);
        var authorised = await Send(Key);
        Assert.NotEqual(HttpStatusCode.Unauthorized, authorised.StatusCode); // 200, or 400 for img2img without an image
        Assert.True(authorised.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{authorised.StatusCode}");
    }

    [Fact]
    public async Task Openai_clients_get_an_openai_shaped_401()
    {
        var response = await _client.PostJsonAsync("/v1/images/generations", new { prompt = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_api_key", (await response.JsonAsync())["error"]!["code"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/")]
    [InlineData("/app.js")]
    public async Task Health_probes_and_the_page_need_no_key(string path)
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }
}
