using System.Drawing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NativeDiffusion.Hosting.ImageGeneration;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Hosting;

/// <summary>The models as Microsoft.Extensions.AI image generators, used through <see cref="IImageGenerator"/> only.</summary>
public sealed class DiffusionImageGeneratorTests : IDisposable
{
    private readonly IHost _host = TestHosts.Create(TestHosts.TinyModel());

    private IImageGenerator Generator => _host.Services.GetRequiredKeyedService<IImageGenerator>("tiny");

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_prompt_gives_png_data_with_the_settings_embedded()
    {
        var response = await Generator.GenerateImagesAsync("a lighthouse", Options(seed: 5));

        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/png", content.MediaType);
        var image = GeneratedImage.Decode(content.Data.Span);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.NotNull(image.Settings);
        Assert.Equal(("a lighthouse", "blurry", 5L, 2, "Euler"), (image.Settings.Prompt, image.Settings.NegativePrompt, image.Settings.Seed, image.Settings.Steps, image.Settings.Sampler));
    }

    [Fact]
    public async Task Size_is_rounded_to_multiples_of_8_and_count_is_the_batch()
    {
        var options = Options(seed: 3);
        options.ImageSize = new Size(61, 83);
        options.Count = 2;

        var response = await Generator.GenerateImagesAsync("two boats", options);

        var images = response.Contents.OfType<DataContent>().Select(c => GeneratedImage.Decode(c.Data.Span)).ToList();
        Assert.Equal(2, images.Count);
        Assert.All(images, i => Assert.Equal((64, 80), (i.Width, i.Height)));
        Assert.Equal([3L, 4L], images.Select(i => i.Settings!.Seed));
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_image_and_another_seed_another()
    {
        var first = await Generator.GenerateImagesAsync("a red door", Options(seed: 11));
        var second = await Generator.GenerateImagesAsync("a red door", Options(seed: 11));
        var other = await Generator.GenerateImagesAsync("a red door", Options(seed: 12));

        Assert.True(Pixels(first).SequenceEqual(Pixels(second)));
        Assert.False(Pixels(first).SequenceEqual(Pixels(other)));
    }

    [Fact]
    public async Task Additional_properties_override_the_configured_defaults()
    {
        var options = Options(seed: 2);
        options.AdditionalProperties![DiffusionImageGenerationProperties.NegativePrompt] = "dark";
        options.AdditionalProperties[DiffusionImageGenerationProperties.Steps] = 3;
        options.AdditionalProperties[DiffusionImageGenerationProperties.CfgScale] = 4.5;
        options.AdditionalProperties[DiffusionImageGenerationProperties.Sampler] = Samplers.DpmPlusPlus2M;

        var response = await Generator.GenerateImagesAsync("a field", options);

        var settings = GeneratedImage.Decode(Assert.IsType<DataContent>(Assert.Single(response.Contents)).Data.Span).Settings!;
        Assert.Equal(("dark", 3, 4.5, "DPM++ 2M"), (settings.NegativePrompt, settings.Steps, settings.CfgScale, settings.Sampler));
    }

    [Fact]
    public async Task Jpeg_is_produced_when_asked_for()
    {
        var options = Options(seed: 1);
        options.MediaType = "image/jpeg";

        var response = await Generator.GenerateImagesAsync("a tree", options);

        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/jpeg", content.MediaType);
        Assert.Equal((64, 64), (GeneratedImage.Decode(content.Data.Span).Width, GeneratedImage.Decode(content.Data.Span).Height));
    }

    [Fact]
    public async Task Unsupported_requests_are_refused_before_any_work()
    {
        var tooSmall = Options(seed: 1);
        tooSmall.ImageSize = new Size(32, 64);
        var uri = Options(seed: 1);
        uri.ResponseFormat = ImageGenerationResponseFormat.Uri;
        var gif = Options(seed: 1);
        gif.MediaType = "image/gif";
        var tooMany = Options(seed: 1);
        tooMany.Count = 65;

        var size = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Generator.GenerateImagesAsync("x", tooSmall));
        Assert.Contains("ImageSize width 32", size.Message);
        await Assert.ThrowsAsync<NotSupportedException>(() => Generator.GenerateImagesAsync("x", uri));
        await Assert.ThrowsAsync<NotSupportedException>(() => Generator.GenerateImagesAsync("x", gif));
        Assert.Contains("Count", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Generator.GenerateImagesAsync("x", tooMany))).Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Generator.GenerateImagesAsync(" ", Options(seed: 1)));
        await Assert.ThrowsAsync<NotSupportedException>(() => Generator.EditImageAsync(new DataContent(new byte[] { 1 }, "image/png"), "x", Options(seed: 1)));
    }

    [Fact]
    public async Task Cancellation_stops_a_running_generation()
    {
        await Generator.GenerateImagesAsync("warm up", Options(seed: 1)); // loads the model
        var options = Options(seed: 1);
        options.AdditionalProperties![DiffusionImageGenerationProperties.Steps] = 1000;
        using var cancel = new CancellationTokenSource();

        var run = Generator.GenerateImagesAsync("a long one", options, cancel.Token);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Generator.GenerateImagesAsync("never", Options(seed: 1), cancel.Token));
    }

    [Fact]
    public async Task The_unkeyed_generator_uses_the_default_model_and_model_id_selects_another()
    {
        var settings = TestHosts.TinyModel("a");
        foreach (var (key, value) in TestHosts.TinyModel("b"))
        {
            settings[key] = value;
        }

        settings["NativeDiffusion:Models:b:Defaults:Steps"] = "1";
        settings["NativeDiffusion:DefaultModel"] = "a";
        using var host = TestHosts.Create(settings);
        var generator = host.Services.GetRequiredService<IImageGenerator>();

        var fromDefault = await generator.GenerateImagesAsync("x", Options(seed: 1));
        var options = Options(seed: 1);
        options.ModelId = "b";
        var fromB = await generator.GenerateImagesAsync("x", options);

        Assert.Equal("a", generator.GetService<ImageGeneratorMetadata>()!.DefaultModelId);
        Assert.Equal(2, Settings(fromDefault).Steps);
        Assert.Equal(1, Settings(fromB).Steps);
        Assert.Throws<KeyNotFoundException>(() => host.Services.GetRequiredKeyedService<IImageGenerator>("c"));
    }

    [Fact]
    public async Task A_loaded_model_can_be_wrapped_directly()
    {
        await using var model = await Generation.TinySd1.LoadAsync();
        using IImageGenerator generator = new DiffusionImageGenerator(model, new() { Width = 64, Height = 64, Steps = 2 });

        var response = await generator.GenerateImagesAsync("x", Options(seed: 9));

        Assert.Equal(9, Settings(response).Seed);
        Assert.Same(model, generator.GetService<DiffusionModel>());
        Assert.Equal("model", generator.GetService<ImageGeneratorMetadata>()!.DefaultModelId);
    }

    private static ImageGenerationOptions Options(long seed) => new()
    {
        AdditionalProperties = new() { [DiffusionImageGenerationProperties.Seed] = seed },
    };

    private static ReadOnlySpan<byte> Pixels(ImageGenerationResponse response) =>
        GeneratedImage.Decode(Assert.IsType<DataContent>(Assert.Single(response.Contents)).Data.Span).Pixels.Span;

    private static GenerationSettings Settings(ImageGenerationResponse response) =>
        GeneratedImage.Decode(Assert.IsType<DataContent>(Assert.Single(response.Contents)).Data.Span).Settings!;
}
