using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NativeDiffusion.Hosting;
using NativeDiffusion.Tests.Generation;

namespace NativeDiffusion.Tests.Hosting;

/// <summary>The registry that AddNativeDiffusion registers: lazy, shared, disposed with the host.</summary>
public sealed class DiffusionModelRegistryTests
{
    [Fact]
    public async Task Concurrent_first_calls_share_one_load_and_one_model()
    {
        var logs = new TestLoggerProvider();
        using var host = TestHosts.Create(TestHosts.TinyModel(), logs);
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();

        var models = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => registry.GetAsync("tiny").AsTask()));
        var again = await registry.GetAsync("TINY");

        Assert.All(models, m => Assert.Same(models[0], m));
        Assert.Same(models[0], again);
        var registryLog = logs.Entries("NativeDiffusion.Hosting.DiffusionModelRegistry");
        Assert.Single(registryLog, e => e.EventId.Name == "ModelLoading");
        Assert.Single(registryLog, e => e.EventId.Name == "ModelReady" && e.Message.StartsWith("Model tiny is ready", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Names_and_default_come_from_configuration()
    {
        var settings = TestHosts.TinyModel("first");
        foreach (var (key, value) in TestHosts.TinyModel("second"))
        {
            settings[key] = value;
        }

        settings["NativeDiffusion:DefaultModel"] = "second";
        using var host = TestHosts.Create(settings);
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();

        Assert.Equal(["first", "second"], registry.Names);
        Assert.Equal("second", registry.DefaultModelName);
        var request = registry.CreateRequest("first", "a cat");
        Assert.Equal(("a cat", "blurry", 64, 64, 2, Samplers.Euler), (request.Prompt, request.NegativePrompt, request.Width, request.Height, request.Steps, request.Sampler));
    }

    [Fact]
    public async Task Unknown_names_are_refused_with_the_configured_names()
    {
        using var host = TestHosts.Create(TestHosts.TinyModel());
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();

        var e = await Assert.ThrowsAsync<KeyNotFoundException>(() => registry.GetAsync("sdxl").AsTask());

        Assert.Contains("'sdxl'", e.Message);
        Assert.Contains("tiny", e.Message);
    }

    [Fact]
    public async Task A_failed_load_names_the_model_and_is_tried_again_on_the_next_call()
    {
        var settings = TestHosts.TinyModel("vocab");
        settings["NativeDiffusion:Models:vocab:Path"] = TestPaths.Fixture("tokenizer", "vocab.json"); // exists, is no model
        using var host = TestHosts.Create(settings);
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();

        var first = await Assert.ThrowsAsync<DiffusionModelLoadException>(() => registry.GetAsync("vocab").AsTask());
        var second = await Assert.ThrowsAsync<DiffusionModelLoadException>(() => registry.GetAsync("vocab").AsTask());

        Assert.Equal("vocab", first.ModelName);
        Assert.StartsWith("The model 'vocab' could not be loaded from", first.Message);
        Assert.IsType<NativeDiffusionException>(first.InnerException);
        Assert.NotSame(first, second);
    }

    [Fact]
    public async Task Stopping_the_host_disposes_the_models()
    {
        DiffusionModel model;
        using (var host = TestHosts.Create(TestHosts.TinyModel()))
        {
            await host.StartAsync();
            var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();
            model = await registry.GetAsync("tiny");
            await host.StopAsync();
            Assert.Single(await model.GenerateAsync(registry.CreateRequest("tiny", "still alive") with { Seed = 1 }));
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.GenerateAsync(new GenerationRequest { Prompt = "gone", Width = 64, Height = 64, Steps = 1 }));
    }

    [Fact]
    public async Task Models_marked_load_on_start_are_loaded_before_start_returns()
    {
        var settings = TestHosts.TinyModel();
        settings["NativeDiffusion:Models:tiny:LoadOnStart"] = "true";
        var logs = new TestLoggerProvider();
        using var host = TestHosts.Create(settings, logs);

        await host.StartAsync();

        Assert.Contains(logs.Entries("NativeDiffusion.Hosting.DiffusionModelRegistry"), e => e.EventId.Name == "ModelReady");
        // The engine's messages go to the host's logging under the library's category.
        Assert.Contains(NativeDiffusionLibrary.NativeLogCategory, logs.Categories);
        await host.StopAsync();
    }

    [Fact]
    public async Task Calls_after_disposal_are_refused()
    {
        var host = TestHosts.Create(TestHosts.TinyModel());
        var registry = host.Services.GetRequiredService<IDiffusionModelRegistry>();
        host.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => registry.GetAsync("tiny").AsTask());
    }

    [Fact]
    public async Task Models_configured_in_code_are_validated_when_the_registry_is_first_resolved()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddNativeDiffusion(options =>
        {
            options.Models["tiny"] = new DiffusionModelOptions
            {
                Path = TinySd1.Checkpoint,
                TokenizerPath = TinySd1.Tokenizer,
                Defaults = new GenerationDefaults { Width = 64, Height = 64, Steps = 1, Seed = 3 },
            };
            options.Models["bad"] = new DiffusionModelOptions { Path = TinySd1.Checkpoint, Defaults = new GenerationDefaults { Steps = 0 } };
        });
        await using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<IDiffusionModelRegistry>());

        Assert.Equal("NativeDiffusion:Models:bad:Defaults:Steps: Steps must be 1 to 1000.", Assert.Single(e.Failures));
    }
}
