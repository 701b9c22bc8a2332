using System.Net;
using Microsoft.Extensions.Options;

namespace NativeDiffusion.Server.Tests;

public sealed class ConfigurationTests
{
    private static string StartupFailure(ServerFactory factory)
    {
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.True(validation is not null, $"expected an OptionsValidationException, got {error}");
        return validation.Message;
    }

    [Fact]
    public void A_server_without_models_does_not_start_and_says_how_to_configure_one()
    {
        using var factory = new ServerFactory(withModel: false);
        var message = StartupFailure(factory);
        Assert.Contains("Models: no model is configured", message, StringComparison.Ordinal);
        Assert.Contains("--Models:0:Path=", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Models:0:Path", "/no/such/model.safetensors", "Models:0:Path '/no/such/model.safetensors' does not exist")]
    [InlineData("Models:0:Tokenizer", "/no/such/tokenizer", "Models:0:Tokenizer")]
    [InlineData("Models:0:WeightType", "Q8_K", "Models:0:WeightType 'Q8_K' is not a weight type")]
    [InlineData("Models:0:WeightType", "7", "Models:0:WeightType '7' is not a weight type")]
    [InlineData("Models:0:Name", "no spaces", "Models:0:Name must be letters")]
    [InlineData("Models:0:DefaultWidth", "500", "Models:0:DefaultWidth must be a multiple of 8")]
    [InlineData("Models:0:DefaultSampler", "Euler a", "Models:0:DefaultSampler 'Euler a' is unknown")]
    [InlineData("QueueCapacity", "0", "QueueCapacity must be from 1")]
    [InlineData("Concurrency", "0", "Concurrency must be from 1 to 64")]
    [InlineData("MaxPixels", "100", "MaxPixels must be from 4096")]
    [InlineData("MaxSteps", "5000", "MaxSteps must be from 1 to 1000")]
    [InlineData("MaxBatch", "0", "MaxBatch must be from 1")]
    [InlineData("MaxRequestBodyBytes", "10", "MaxRequestBodyBytes must be at least 1024")]
    [InlineData("ApiKey", "two words", "ApiKey is empty or holds white space")]
    [InlineData("ShutdownGracePeriod", "-00:00:01", "ShutdownGracePeriod must be from")]
    public void Invalid_settings_stop_the_start_with_a_message_naming_the_key(string key, string value, string expected)
    {
        using var factory = new ServerFactory(ServerFactory.Settings((key, value)));
        Assert.Contains(expected, StartupFailure(factory), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_models_with_one_name_are_refused()
    {
        using var factory = new ServerFactory(ServerFactory.Settings(
            ("Models:1:Name", "TINY"), ("Models:1:Path", Fixtures.TinyModel), ("Models:1:Tokenizer", Fixtures.Tokenizer)));
        Assert.Contains("Models:1:Name 'TINY' is used by another model", StartupFailure(factory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_fails_to_load_leaves_the_server_alive_but_not_ready()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("Models:0:Path", Fixtures.NotAModel)));
        var client = factory.CreateClient();
        await ServerFactory.WaitUntilAsync(
            async () => (await (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).JsonAsync())["status"]!.GetValue<string>() == "failed",
            "the load to fail");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        var response = await client.PostJsonAsync("/sdapi/v1/txt2img", new { prompt = "x" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Loading the models failed", (await response.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bodies_over_the_limit_are_413_before_anything_is_queued()
    {
        await using var factory = new ServerFactory(ServerFactory.Settings(("MaxRequestBodyBytes", 2048)));
        var client = await factory.ReadyClientAsync();
        var response = await client.PostJsonAsync("/sdapi/v1/img2img", new { prompt = new string('a', 4096), width = 64, height = 64 });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("2048", (await response.JsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var openAi = await client.PostJsonAsync("/v1/images/generations", new { prompt = new string('a', 4096) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, openAi.StatusCode);
        Assert.Equal("body_too_large", (await openAi.JsonAsync())["error"]!["code"]!.GetValue<string>());
    }
}
