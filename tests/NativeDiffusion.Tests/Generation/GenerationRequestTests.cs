using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Generation;

/// <summary>Requests are checked when built: a bad value is an ArgumentException naming its property.</summary>
public sealed class GenerationRequestTests
{
    public static TheoryData<string, Func<GenerationRequest, GenerationRequest>> BadValues => new()
    {
        { nameof(GenerationRequest.Width), r => r with { Width = 65 } },
        { nameof(GenerationRequest.Width), r => r with { Width = 56 } },
        { nameof(GenerationRequest.Height), r => r with { Height = 4104 } },
        { nameof(GenerationRequest.Steps), r => r with { Steps = 0 } },
        { nameof(GenerationRequest.Steps), r => r with { Steps = 1001 } },
        { nameof(GenerationRequest.CfgScale), r => r with { CfgScale = double.NaN } },
        { nameof(GenerationRequest.CfgScale), r => r with { CfgScale = -1 } },
        { nameof(GenerationRequest.CfgScale), r => r with { CfgScale = 100.5 } },
        { nameof(GenerationRequest.Strength), r => r with { Strength = 0 } },
        { nameof(GenerationRequest.Strength), r => r with { Strength = 1.01 } },
        { nameof(GenerationRequest.BatchCount), r => r with { BatchCount = 0 } },
        { nameof(GenerationRequest.BatchCount), r => r with { BatchCount = 65 } },
        { nameof(GenerationRequest.Seed), r => r with { Seed = -2 } },
        { nameof(GenerationRequest.Seed), r => r with { Seed = long.MaxValue } },
        { nameof(GenerationRequest.ClipSkip), r => r with { ClipSkip = -1 } },
        { nameof(GenerationRequest.PreviewInterval), r => r with { PreviewInterval = -1 } },
        { nameof(GenerationRequest.Sampler), r => r with { Sampler = "euler_ancestral" } },
        { nameof(GenerationRequest.Sampler), r => r with { Sampler = "Euler" } },
        { nameof(GenerationRequest.Schedule), r => r with { Schedule = "cosine" } },
        { nameof(GenerationRequest.TimestepSpacing), r => r with { TimestepSpacing = "uniform" } },
        { nameof(GenerationRequest.Rng), r => r with { Rng = (NoiseSource)7 } },
        { nameof(GenerationRequest.Prompt), r => r with { Prompt = null! } },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_throws_ArgumentException_naming_the_property(string property, Func<GenerationRequest, GenerationRequest> change)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => change(TinySd1.EulerRequest));

        Assert.Equal(property, error.ParamName);
    }

    [Fact]
    public void An_unknown_sampler_is_refused_with_the_list_of_samplers()
    {
        var error = Assert.Throws<ArgumentException>(() => TinySd1.EulerRequest with { Sampler = "k_euler" });

        Assert.Contains("'k_euler'", error.Message, StringComparison.Ordinal);
        foreach (var name in Samplers.Names)
        {
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sampler_and_schedule_names_are_the_engines_and_their_display_names_the_web_uis()
    {
        Assert.Equal(["euler", "euler_a", "heun", "dpm2", "dpmpp_2m", "dpmpp_2s_a", "dpmpp_sde", "ddim", "lcm"], Samplers.Names);
        Assert.Equal(["default", "karras", "exponential", "sgm_uniform"], Schedules.Names);
        Assert.Equal("Euler a", Samplers.DisplayName("euler_a"));
        Assert.Equal("DPM++ 2M", Samplers.DisplayName("dpmpp_2m"));
        Assert.Equal("DPM++ 2S a", Samplers.DisplayName("dpmpp_2s_a"));
        Assert.Equal("Karras", Schedules.DisplayName("karras"));
        Assert.Null(Schedules.DisplayName("default"));
    }

    [Fact]
    public void Side_errors_name_the_nearest_valid_sizes()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TinySd1.EulerRequest with { Width = 100 });

        Assert.Contains("96 and 104", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_init_image_of_another_size_fails_validation_naming_InitImage()
    {
        var image = InputImage.FromImage(new GeneratedImage(64, 72, new byte[64 * 72 * 3]));
        var request = TinySd1.EulerRequest with { InitImage = image };

        var error = Assert.Throws<ArgumentException>(request.Validate);

        Assert.Equal(nameof(GenerationRequest.InitImage), error.ParamName);
        Assert.Contains("64x72", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_strength_that_leaves_no_step_fails_validation_naming_Strength()
    {
        var image = InputImage.FromImage(new GeneratedImage(64, 64, new byte[64 * 64 * 3]));
        var request = TinySd1.EulerRequest with { InitImage = image, Steps = 4, Strength = 0.2 };

        var error = Assert.Throws<ArgumentException>(request.Validate);

        Assert.Equal(nameof(GenerationRequest.Strength), error.ParamName);
    }

    [Fact]
    public async Task GenerateAsync_validates_before_running()
    {
        await using var model = await TinySd1.LoadAsync();
        var image = InputImage.FromImage(new GeneratedImage(64, 72, new byte[64 * 72 * 3]));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => model.GenerateAsync(TinySd1.EulerRequest with { InitImage = image }));

        Assert.Equal(nameof(GenerationRequest.InitImage), error.ParamName);
    }

    [Fact]
    public void Load_options_out_of_range_name_the_property()
    {
        Assert.Equal(nameof(ModelLoadOptions.Threads), Assert.Throws<ArgumentException>(new ModelLoadOptions { Threads = -1 }.Validate).ParamName);
        Assert.Equal(nameof(ModelLoadOptions.WeightType), Assert.Throws<ArgumentException>(new ModelLoadOptions { WeightType = TensorDataType.I32 }.Validate).ParamName);
        Assert.Equal(nameof(ModelLoadOptions.WeightType), Assert.Throws<ArgumentException>(new ModelLoadOptions { WeightType = TensorDataType.Q8_K }.Validate).ParamName);
        Assert.Equal(nameof(ConvertOptions.WeightType), Assert.Throws<ArgumentException>(new ConvertOptions { WeightType = TensorDataType.Bool }.Validate).ParamName);
    }
}
