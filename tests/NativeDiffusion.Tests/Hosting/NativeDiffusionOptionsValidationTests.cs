using Microsoft.Extensions.Options;

namespace NativeDiffusion.Tests.Hosting;

/// <summary>The options are checked when the host starts, with messages that name the model and the field.</summary>
public sealed class NativeDiffusionOptionsValidationTests
{
    [Fact]
    public async Task Start_fails_naming_the_model_and_field_of_a_missing_model_file()
    {
        var settings = TestHosts.TinyModel("broken");
        settings["NativeDiffusion:Models:broken:Path"] = "/no/such/model.safetensors";
        using var host = TestHosts.Create(settings);

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        var failure = Assert.Single(e.Failures);
        Assert.Contains("NativeDiffusion:Models:broken:Path", failure);
        Assert.Contains("/no/such/model.safetensors", failure);
        Assert.Contains("does not exist", failure);
    }

    [Fact]
    public async Task Start_reports_every_bad_field_at_once()
    {
        var settings = TestHosts.TinyModel("tiny");
        settings["NativeDiffusion:Models:tiny:Defaults:Width"] = "100";
        settings["NativeDiffusion:Models:tiny:Defaults:Sampler"] = "no_such_sampler";
        settings["NativeDiffusion:Models:tiny:Threads"] = "-3";
        settings["NativeDiffusion:Models:tiny:TokenizerPath"] = "/no/tokenizer";
        settings["NativeDiffusion:DefaultModel"] = "other";
        using var host = TestHosts.Create(settings);

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        var failures = e.Failures.ToList();
        Assert.Contains(failures, f => f.StartsWith("NativeDiffusion:Models:tiny:Threads:", StringComparison.Ordinal) && f.Contains("-3"));
        Assert.Contains(failures, f => f.StartsWith("NativeDiffusion:Models:tiny:TokenizerPath '/no/tokenizer'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("NativeDiffusion:DefaultModel is 'other'", StringComparison.Ordinal) && f.Contains("tiny"));
        // The first bad default stops the defaults' check (they are checked as one request).
        Assert.Contains(failures, f => f.StartsWith("NativeDiffusion:Models:tiny:Defaults:Width:", StringComparison.Ordinal) && f.Contains("multiple of 8"));
        Assert.Equal(4, failures.Count);
    }

    [Fact]
    public async Task Start_fails_when_no_model_is_configured()
    {
        using var host = TestHosts.Create([new("Unrelated", "1")]);

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("NativeDiffusion:Models lists no model", Assert.Single(e.Failures));
    }

    [Fact]
    public async Task A_valid_configuration_starts_without_loading_any_model()
    {
        var logs = new TestLoggerProvider();
        using var host = TestHosts.Create(TestHosts.TinyModel(), logs);

        await host.StartAsync();
        await host.StopAsync();

        Assert.Empty(logs.Entries("NativeDiffusion.Hosting.DiffusionModelRegistry"));
    }
}
