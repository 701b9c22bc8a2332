using System.Text;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Images;

/// <summary>Reading the settings of a PNG without decoding it, as a web-UI PNG carries them.</summary>
public sealed class PngMetadataTests
{
    private const string Infotext =
        "portrait of an astronaut, oil painting\nNegative prompt: lowres\n"
        + "Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7.5, Seed: 2846912384, Size: 512x640, "
        + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1";

    // A PNG as the web UI's image library writes it: IHDR, then the parameters tEXt chunk, then the image.
    private static byte[] WebUiPng() =>
        TestImages.Png(8, 8, 3, TestImages.Noise(8, 8), TestImages.Chunk("tEXt", [.. "parameters\0"u8, .. Encoding.Latin1.GetBytes(Infotext)]));

    [Fact]
    public void Settings_of_a_web_ui_png_are_read()
    {
        var settings = PngMetadata.ReadSettings(WebUiPng());

        Assert.NotNull(settings);
        Assert.Equal("portrait of an astronaut, oil painting", settings.Prompt);
        Assert.Equal("Automatic", settings.ScheduleType);
        Assert.Equal(2846912384L, settings.Seed);
        Assert.Equal(Infotext, settings.ToInfotext());
        Assert.Equal(Infotext, PngMetadata.ReadText(WebUiPng()));
    }

    [Fact]
    public async Task Settings_are_read_from_a_file_and_a_png_without_them_gives_null()
    {
        using var folder = new TempFolder();
        await File.WriteAllBytesAsync(folder.File("ui.png"), WebUiPng());
        await File.WriteAllBytesAsync(folder.File("plain.png"), TestImages.Png(8, 8, 3, TestImages.Noise(8, 8)));
        await File.WriteAllTextAsync(folder.File("text.png"), "not a png at all");

        Assert.Equal("v1.10.1", (await PngMetadata.ReadSettingsAsync(folder.File("ui.png")))?.Version);
        Assert.Null(await PngMetadata.ReadSettingsAsync(folder.File("plain.png")));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => PngMetadata.ReadSettingsAsync(folder.File("text.png")));
        Assert.Contains("text.png", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_is_not_infotext_is_returned_as_text_but_gives_no_settings()
    {
        var png = TestImages.Png(8, 8, 3, TestImages.Noise(8, 8), TestImages.Chunk("tEXt", [.. "parameters\0a workflow, not infotext"u8]));

        Assert.Equal("a workflow, not infotext", PngMetadata.ReadText(png));
        Assert.Null(PngMetadata.ReadSettings(png));
    }
}
