using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Generation;

/// <summary>Generation end to end through the C ABI on the tiny SD 1.x fixture.</summary>
public sealed class DiffusionModelGenerationTests
{
    [Fact]
    public async Task Euler_64x64_from_the_checkpoint_matches_the_diffusers_image_within_one_level()
    {
        await using var model = await TinySd1.LoadAsync();

        var images = await model.GenerateAsync(TinySd1.EulerRequest);

        var image = Assert.Single(images);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.InRange(TinySd1.MaxDifference(image, TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
    }

    [Fact]
    public async Task Euler_64x64_from_the_diffusers_folder_matches_the_diffusers_image_within_one_level()
    {
        await using var model = await DiffusionModel.LoadAsync(TinySd1.DiffusersFolder);

        var images = await model.GenerateAsync(TinySd1.EulerRequest);

        Assert.Equal("diffusers folder", model.Info.Layout);
        Assert.InRange(TinySd1.MaxDifference(Assert.Single(images), TinySd1.ReferencePixels("sd1.pipe.euler.64x64.image")), 0, 1);
    }

    [Fact]
    public async Task Images_carry_web_ui_settings_with_their_own_seeds()
    {
        await using var model = await TinySd1.LoadAsync();

        var images = await model.GenerateAsync(TinySd1.EulerRequest with { BatchCount = 2, Sampler = Samplers.EulerAncestral, Schedule = Schedules.Karras });

        Assert.Equal(2, images.Count);
        var settings = images.Select(i => i.Settings!).ToList();
        Assert.Equal([7L, 8L], settings.Select(s => s.Seed));
        Assert.All(settings, s =>
        {
            Assert.Equal("Euler a", s.Sampler);
            Assert.Equal("Karras", s.ScheduleType);
            Assert.Equal("a photo of an astronaut riding a horse on mars", s.Prompt);
            Assert.Equal("blurry, low quality", s.NegativePrompt);
            Assert.Equal(6, s.Steps);
            Assert.Equal(7.5, s.CfgScale);
            Assert.Equal((64, 64), (s.Width, s.Height));
            Assert.Equal("model", s.ModelName);
            Assert.Equal($"NativeDiffusion {NativeDiffusionLibrary.Version}", s.Version);
            Assert.Null(s.DenoisingStrength);
        });
        Assert.False(images[0].Pixels.Span.SequenceEqual(images[1].Pixels.Span), "two seeds gave the same image");
    }
}
