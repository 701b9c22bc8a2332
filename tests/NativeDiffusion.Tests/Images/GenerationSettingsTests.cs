using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Images;

/// <summary>The web UI's infotext: written exactly as the UI writes it, and read back from the UI's own text.</summary>
public sealed class GenerationSettingsTests
{
    private static GenerationSettings Full() => new()
    {
        Prompt = "a photo of a cat, sitting on a chair",
        NegativePrompt = "blurry, lowres",
        Steps = 20,
        Sampler = "Euler a",
        ScheduleType = "Karras",
        CfgScale = 7,
        Seed = 42,
        Width = 512,
        Height = 512,
        ModelHash = "6ce0161689",
        ModelName = "v1-5-pruned-emaonly",
        ClipSkip = 2,
        DenoisingStrength = 0.6,
        Version = "NativeDiffusion 0.1.0",
    };

    [Fact]
    public void Infotext_has_prompt_negative_line_and_parameters_in_the_web_ui_order()
    {
        Assert.Equal(
            "a photo of a cat, sitting on a chair\n"
            + "Negative prompt: blurry, lowres\n"
            + "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.6, Clip skip: 2, "
            + "Version: NativeDiffusion 0.1.0",
            Full().ToInfotext());
    }

    [Fact]
    public void Infotext_omits_the_negative_line_optional_keys_and_clip_skip_1()
    {
        var settings = new GenerationSettings
        {
            Prompt = "lighthouse at dusk",
            Steps = 30,
            Sampler = "DPM++ 2M",
            CfgScale = 7.5,
            Seed = 1234567890,
            Width = 768,
            Height = 512,
        };

        Assert.Equal("lighthouse at dusk\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 7.5, Seed: 1234567890, Size: 768x512", settings.ToInfotext());
    }

    [Fact]
    public void Empty_prompt_starts_the_infotext_with_the_negative_line()
    {
        var settings = Full() with { Prompt = "", NegativePrompt = "ugly", ModelHash = null, ModelName = null, Version = null, ClipSkip = 1, DenoisingStrength = null };

        Assert.Equal("Negative prompt: ugly\nSteps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512", settings.ToInfotext());
    }

    [Fact]
    public void Values_with_commas_colons_or_newlines_are_written_as_json_strings_and_others_as_they_are()
    {
        var settings = Full() with
        {
            ModelName = "my,model",
            Version = "v1",
            ExtraParameters =
            [
                new("Lora hashes", "add_detail: 7c6bad76eb54, more_art: 1a2b3c4d5e6f"),
                new("Note", "say \"hi\": now"),
                new("Lines", "one\ntwo\u0001"),
                new("Unicode", "café: ü 猫"),
                new("Plain", "a \"quoted\" word"),
            ],
        };

        var parameters = settings.ToInfotext().Split('\n')[^1];

        Assert.Contains(", Model: \"my,model\", ", parameters, StringComparison.Ordinal);
        Assert.Contains(", Lora hashes: \"add_detail: 7c6bad76eb54, more_art: 1a2b3c4d5e6f\", ", parameters, StringComparison.Ordinal);
        Assert.Contains(", Note: \"say \\\"hi\\\": now\", ", parameters, StringComparison.Ordinal);
        Assert.Contains(", Lines: \"one\\ntwo\\u0001\", ", parameters, StringComparison.Ordinal);
        Assert.Contains(", Unicode: \"café: ü 猫\", ", parameters, StringComparison.Ordinal);
        Assert.Contains(", Plain: a \"quoted\" word, ", parameters, StringComparison.Ordinal);
    }

    [Fact]
    public void Extras_the_web_ui_knows_take_its_places_others_go_before_version_and_user_goes_last()
    {
        var settings = Full() with
        {
            ExtraParameters =
            [
                new("User", "alice"),
                new("Hires upscale", "2"),
                new("VAE", "vae-ft-mse-840000-ema-pruned.safetensors"),
                new("Skip early CFG", "Skip early CFG"),
            ],
        };

        Assert.Equal(
            "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE: vae-ft-mse-840000-ema-pruned.safetensors, "
            + "Denoising strength: 0.6, Clip skip: 2, Hires upscale: 2, Skip early CFG, Version: NativeDiffusion 0.1.0, User: alice",
            settings.ToInfotext().Split('\n')[^1]);
    }

    [Theory]
    [InlineData(7.0, "7")]
    [InlineData(7.5, "7.5")]
    [InlineData(0.65, "0.65")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(-3, "-3")]
    public void Numbers_are_written_as_the_web_ui_shows_them(double value, string expected) =>
        Assert.Equal(expected, Infotext.FormatNumber(value));

    // A hand-written infotext in the form the web UI 1.10 writes for an img2img run with hires fix, LoRA and
    // textual-inversion hashes (keys and quoting as in its create_infotext).
    private const string WebUiSample =
        "masterpiece, best quality, 1girl, (smile:1.2), <lora:add_detail:0.5>\n"
        + "Negative prompt: (worst quality, low quality:1.4), EasyNegative\n"
        + "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 3052136468, Size: 512x768, "
        + "Model hash: 7f96a1a9ca, Model: anything-v5, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned.safetensors, "
        + "Denoising strength: 0.45, Clip skip: 2, Hires upscale: 2, Hires steps: 10, Hires upscaler: R-ESRGAN 4x+ Anime6B, "
        + "Lora hashes: \"add_detail: 7c6bad76eb54\", TI hashes: \"EasyNegative: c74b4e810b03\", Version: v1.10.1";

    [Fact]
    public void Web_ui_infotext_is_read_into_properties_and_ordered_extras()
    {
        Assert.True(GenerationSettings.TryParseInfotext(WebUiSample, out var s));

        Assert.Equal("masterpiece, best quality, 1girl, (smile:1.2), <lora:add_detail:0.5>", s.Prompt);
        Assert.Equal("(worst quality, low quality:1.4), EasyNegative", s.NegativePrompt);
        Assert.Equal(28, s.Steps);
        Assert.Equal("DPM++ 2M", s.Sampler);
        Assert.Equal("Karras", s.ScheduleType);
        Assert.Equal(7.0, s.CfgScale);
        Assert.Equal(3052136468L, s.Seed);
        Assert.Equal((512, 768), (s.Width, s.Height));
        Assert.Equal("7f96a1a9ca", s.ModelHash);
        Assert.Equal("anything-v5", s.ModelName);
        Assert.Equal(0.45, s.DenoisingStrength);
        Assert.Equal(2, s.ClipSkip);
        Assert.Equal("v1.10.1", s.Version);
        Assert.Equal(
            [
                new("VAE hash", "735e4c3a44"),
                new("VAE", "vae-ft-mse-840000-ema-pruned.safetensors"),
                new("Hires upscale", "2"),
                new("Hires steps", "10"),
                new("Hires upscaler", "R-ESRGAN 4x+ Anime6B"),
                new("Lora hashes", "add_detail: 7c6bad76eb54"),
                new KeyValuePair<string, string>("TI hashes", "EasyNegative: c74b4e810b03"),
            ],
            s.ExtraParameters);
    }

    [Fact]
    public void Web_ui_infotext_is_written_back_unchanged_but_for_the_form_of_whole_numbers()
    {
        var settings = GenerationSettings.ParseInfotext(WebUiSample);

        Assert.Equal(WebUiSample.Replace("CFG scale: 7.0", "CFG scale: 7", StringComparison.Ordinal), settings.ToInfotext());
    }

    [Fact]
    public void Older_infotext_without_schedule_type_and_with_multiline_prompts_is_read()
    {
        const string text = "first line\nsecond line\nNegative prompt: bad\nworse\n"
                            + "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b";

        var s = GenerationSettings.ParseInfotext(text);

        Assert.Equal("first line\nsecond line", s.Prompt);
        Assert.Equal("bad\nworse", s.NegativePrompt);
        Assert.Null(s.ScheduleType);
        Assert.Equal(1, s.ClipSkip);
        Assert.Null(s.DenoisingStrength);
        Assert.Equal("45dee52b", s.ModelHash);
        Assert.Empty(s.ExtraParameters);
    }

    [Fact]
    public void Settings_survive_a_round_trip_through_infotext()
    {
        var original = Full() with
        {
            Prompt = "a castle: tall, grey\nsecond line",
            NegativePrompt = "text, watermark",
            Seed = -5,
            CfgScale = 6.25,
            ModelName = "model, v2: final",
            ExtraParameters = [new("VAE", "a,b"), new("Lines", "x\ny\"z\\"), new("Unicode", "猫: ü")],
        };

        var parsed = GenerationSettings.ParseInfotext(original.ToInfotext());

        Assert.Equal(original, parsed);
    }

    [Theory]
    [InlineData("just a prompt", "fewer than three")]
    [InlineData("p\nSampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512", "\"Steps\"")]
    [InlineData("p\nSteps: many, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512", "Steps \"many\"")]
    [InlineData("p\nSteps: 20, Sampler: Euler, CFG scale: high, Seed: 1, Size: 512x512", "CFG scale \"high\"")]
    [InlineData("p\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512 by 512", "Size \"512 by 512\"")]
    [InlineData("p\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, Denoising strength: 1.5", "Denoising strength \"1.5\"")]
    [InlineData("p\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: x, Size: 512x512", "Seed \"x\"")]
    public void Text_that_is_not_complete_infotext_is_refused_with_the_reason(string text, string reason)
    {
        Assert.False(GenerationSettings.TryParseInfotext(text, out var settings));
        Assert.Null(settings);
        var e = Assert.Throws<FormatException>(() => GenerationSettings.ParseInfotext(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_text_is_not_infotext() => Assert.False(GenerationSettings.TryParseInfotext(null, out _));

    [Fact]
    public void Invalid_values_are_refused_when_set()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Full() with { Steps = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => Full() with { Width = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => Full() with { ClipSkip = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => Full() with { DenoisingStrength = 1.01 });
        Assert.Throws<ArgumentOutOfRangeException>(() => Full() with { CfgScale = double.NaN });
        Assert.Throws<ArgumentException>(() => Full() with { Sampler = " " });
        Assert.Throws<ArgumentException>(() => Full() with { ExtraParameters = [new("Steps", "3")] });
        Assert.Throws<ArgumentException>(() => Full() with { ExtraParameters = [new("x", "short key")] });
        Assert.Throws<ArgumentException>(() => Full() with { ExtraParameters = [new("Bad, key", "1")] });
        Assert.Throws<ArgumentException>(() => Full() with { ExtraParameters = [new("Twice", "1"), new("Twice", "2")] });
    }

    [Fact]
    public void Equality_compares_extra_parameters_by_content()
    {
        var a = Full() with { ExtraParameters = [new("VAE", "x")] };
        var b = Full() with { ExtraParameters = [new("VAE", "x")] };
        var c = Full() with { ExtraParameters = [new("VAE", "y")] };

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
