using System.Text;
using NativeDiffusion.Images;
using SkiaSharp;

namespace NativeDiffusion.Tests.Images;

/// <summary>The PNG chunk reader and the text chunks written into SkiaSharp's PNG output.</summary>
public sealed class PngChunksTests
{
    private static GenerationSettings Settings(string prompt = "red fox, snow") => new()
    {
        Prompt = prompt,
        NegativePrompt = "blurry",
        Steps = 20,
        Sampler = "Euler a",
        ScheduleType = "Karras",
        CfgScale = 7,
        Seed = 42,
        Width = 32,
        Height = 24,
    };

    [Fact]
    public void Crc32_matches_the_standard_check_value_and_the_iend_chunk()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0xAE426082u, Crc32.Compute("IEND"u8)); // the last four bytes of every PNG file
    }

    [Fact]
    public void Crc32_agrees_with_every_chunk_skia_writes()
    {
        var png = new GeneratedImage(32, 24, TestImages.Noise(32, 24)).Encode(ImageFormat.Png, new ImageEncoderOptions { EmbedSettings = false });

        var chunks = PngChunks.Read(png);

        Assert.Contains(chunks, c => c.Type == "IDAT");
        Assert.All(chunks, c => Assert.True(c.CrcValid, $"chunk {c.Type} at {c.DataOffset}"));
    }

    [Fact]
    public void Parameters_chunk_is_a_text_chunk_right_after_ihdr_with_a_valid_crc()
    {
        var settings = Settings();
        var png = new GeneratedImage(32, 24, TestImages.Noise(32, 24), settings).Encode(ImageFormat.Png);

        var chunks = PngChunks.Read(png);

        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("tEXt", chunks[1].Type);
        Assert.True(chunks[1].CrcValid);
        Assert.Equal("IEND", chunks[^1].Type);
        var data = png.AsSpan(chunks[1].DataOffset, chunks[1].Length);
        Assert.Equal("parameters\0" + settings.ToInfotext(), Encoding.Latin1.GetString(data));
        Assert.Equal(settings.ToInfotext(), PngChunks.FindText(png, "parameters"));
    }

    [Fact]
    public void Png_with_the_parameters_chunk_still_decodes_in_skia_to_the_same_pixels()
    {
        var rgb = TestImages.Noise(32, 24);
        var png = new GeneratedImage(32, 24, rgb, Settings()).Encode(ImageFormat.Png);

        using var bitmap = SKBitmap.Decode(png);

        Assert.NotNull(bitmap);
        Assert.Equal((32, 24), (bitmap.Width, bitmap.Height));
        var pixel = bitmap.GetPixel(5, 7);
        var i = (7 * 32 + 5) * 3;
        Assert.Equal((rgb[i], rgb[i + 1], rgb[i + 2]), (pixel.Red, pixel.Green, pixel.Blue));
    }

    [Fact]
    public void Text_beyond_latin1_goes_into_an_utf8_itxt_chunk()
    {
        var settings = Settings("猫 on a roof, ünïcode");
        var png = new GeneratedImage(32, 24, TestImages.Noise(32, 24), settings).Encode(ImageFormat.Png);

        var chunks = PngChunks.Read(png);

        Assert.Equal("iTXt", chunks[1].Type);
        Assert.True(chunks[1].CrcValid);
        Assert.Equal(settings.ToInfotext(), PngChunks.FindText(png, "parameters"));
        Assert.Equal(settings, GeneratedImage.Decode(png).Settings);
    }

    [Fact]
    public void Compressed_ztxt_and_itxt_chunks_are_read()
    {
        var pixels = TestImages.Noise(8, 8);
        var ztxt = TestImages.Chunk("zTXt", [.. "parameters"u8, 0, 0, .. TestImages.Deflate(Encoding.Latin1.GetBytes("zipped, latin-1 é"))]);
        var itxt = TestImages.Chunk("iTXt", [.. "Comment"u8, 0, 1, 0, 0, 0, .. TestImages.Deflate(Encoding.UTF8.GetBytes("zipped 猫"))]);
        var png = TestImages.Png(8, 8, 3, pixels, itxt, ztxt);

        Assert.Equal("zipped, latin-1 é", PngChunks.FindText(png, "parameters"));
        Assert.Equal("zipped 猫", PngChunks.FindText(png, "Comment"));
        Assert.Null(PngChunks.FindText(png, "Title"));
    }

    [Fact]
    public void Text_chunk_with_a_wrong_crc_is_skipped()
    {
        var png = new GeneratedImage(8, 8, TestImages.Noise(8, 8), Settings()).Encode(ImageFormat.Png);
        var text = PngChunks.Read(png)[1];
        png[text.DataOffset + 12] ^= 0x20; // change one letter of the text, not the CRC

        Assert.False(PngChunks.Read(png)[1].CrcValid);
        Assert.Null(PngChunks.FindText(png, "parameters"));
    }

    [Fact]
    public void Truncated_chunk_is_rejected_with_its_offset()
    {
        var png = new GeneratedImage(8, 8, TestImages.Noise(8, 8)).Encode(ImageFormat.Png);
        var idat = PngChunks.Read(png).First(c => c.Type == "IDAT");

        var e = Assert.Throws<InvalidDataException>(() => PngChunks.Read(png.AsSpan(0, idat.DataOffset + 10)));

        Assert.Contains($"chunk IDAT at offset {idat.DataOffset - 8}", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_without_the_png_signature_is_rejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => PngChunks.Read("GIF89a.........."u8));
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keyword_and_text_that_png_cannot_hold_are_refused()
    {
        Assert.Throws<ArgumentException>(() => PngChunks.BuildTextChunk("", "x"));
        Assert.Throws<ArgumentException>(() => PngChunks.BuildTextChunk(new string('k', 80), "x"));
        Assert.Throws<ArgumentException>(() => PngChunks.BuildTextChunk("parameters", "nul\0inside"));
    }
}
