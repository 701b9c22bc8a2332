using System.Runtime.InteropServices;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Images;

/// <summary>Generated images: construction, encoding in each format, and atomic saves.</summary>
public sealed class GeneratedImageTests
{
    private static readonly GenerationSettings s_settings = new()
    {
        Prompt = "a lighthouse, storm",
        Steps = 25,
        Sampler = "DPM++ 2M",
        ScheduleType = "Karras",
        CfgScale = 6.5,
        Seed = 7,
        Width = 64,
        Height = 48,
        Version = "NativeDiffusion 0.1.0",
    };

    [Fact]
    public void Pixel_buffer_of_the_wrong_length_is_refused_with_both_lengths()
    {
        var e = Assert.Throws<ArgumentException>(() => new GeneratedImage(2, 2, new byte[11]));

        Assert.Contains("needs 12 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("not 11", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GeneratedImage(0, 2, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => GeneratedImage.FromOwnedBuffer(65536, 65536, new byte[3]));
    }

    [Fact]
    public void Constructor_copies_the_pixels_and_owned_buffer_is_taken_without_a_copy()
    {
        var rgb = TestImages.Noise(4, 3);
        var copied = new GeneratedImage(4, 3, rgb);
        var owned = GeneratedImage.FromOwnedBuffer(4, 3, rgb);

        rgb[0] ^= 0xFF;

        Assert.NotEqual(rgb[0], copied.Pixels.Span[0]);
        Assert.True(MemoryMarshal.TryGetArray(owned.Pixels, out var segment));
        Assert.Same(rgb, segment.Array);
        Assert.Equal((rgb[3], rgb[4], rgb[5]), owned.GetPixel(1, 0));
        Assert.Equal(12, owned.Stride);
    }

    [Fact]
    public void Png_round_trip_is_exact_and_keeps_the_settings()
    {
        var rgb = TestImages.Noise(64, 48);
        var image = new GeneratedImage(64, 48, rgb, s_settings);

        var decoded = GeneratedImage.Decode(image.Encode(ImageFormat.Png));

        Assert.Equal((64, 48), (decoded.Width, decoded.Height));
        Assert.Equal(rgb, decoded.Pixels.ToArray());
        Assert.Equal(s_settings, decoded.Settings);
    }

    [Fact]
    public void Lossless_webp_round_trip_is_exact()
    {
        var rgb = TestImages.Noise(64, 48);

        var decoded = GeneratedImage.Decode(new GeneratedImage(64, 48, rgb).Encode(ImageFormat.Webp, new ImageEncoderOptions { Lossless = true }));

        Assert.Equal(rgb, decoded.Pixels.ToArray());
        Assert.Null(decoded.Settings);
    }

    [Theory]
    [InlineData(ImageFormat.Jpeg)]
    [InlineData(ImageFormat.Webp)]
    public void Lossy_round_trip_stays_close_and_lower_quality_is_smaller(ImageFormat format)
    {
        var rgb = TestImages.Gradient(128, 96);
        var image = new GeneratedImage(128, 96, rgb);

        var best = image.Encode(format, new ImageEncoderOptions { Quality = 95 });
        var worst = image.Encode(format, new ImageEncoderOptions { Quality = 10 });
        var (mean, max) = TestImages.Difference(rgb, GeneratedImage.Decode(best).Pixels.Span);

        Assert.True(mean < 2.0, $"mean difference {mean}");
        Assert.True(max <= 24, $"largest difference {max}");
        Assert.True(worst.Length < best.Length, $"quality 10: {worst.Length} bytes, quality 95: {best.Length} bytes");
    }

    [Theory]
    [InlineData("out.png", new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' })]
    [InlineData("out.jpg", new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData("out.JPEG", new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData("out.webp", new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F' })]
    public async Task Save_picks_the_format_from_the_extension(string name, byte[] magic)
    {
        using var folder = new TempFolder();
        var path = folder.File(name);

        await new GeneratedImage(16, 16, TestImages.Gradient(16, 16), s_settings).SaveAsync(path);

        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal(magic, bytes[..magic.Length]);
        Assert.Equal(TestImages.Gradient(16, 16).Length, (await GeneratedImage.LoadAsync(path)).Pixels.Length);
        Assert.Single(Directory.GetFiles(folder.Path));
    }

    [Theory]
    [InlineData("out.bmp", ".bmp")]
    [InlineData("out", "no extension")]
    public async Task Unknown_extension_is_an_argument_error_and_writes_nothing(string name, string named)
    {
        using var folder = new TempFolder();
        var image = new GeneratedImage(8, 8, TestImages.Gradient(8, 8));

        var e = await Assert.ThrowsAsync<ArgumentException>(() => image.SaveAsync(folder.File(name)));

        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains(".png, .jpg, .jpeg or .webp", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public async Task Save_with_an_explicit_format_ignores_the_extension()
    {
        using var folder = new TempFolder();
        var path = folder.File("picture.data");

        await new GeneratedImage(8, 8, TestImages.Gradient(8, 8)).SaveAsync(path, ImageFormat.Png);

        Assert.True(PngChunks.HasSignature(await File.ReadAllBytesAsync(path)));
    }

    [Fact]
    public async Task Typed_save_methods_write_their_format_with_their_options()
    {
        using var folder = new TempFolder();
        var image = new GeneratedImage(32, 32, TestImages.Noise(32, 32), s_settings);

        await image.SaveAsPngAsync(folder.File("a.png"));
        await image.SaveAsJpegAsync(folder.File("b.jpg"), quality: 20);
        await image.SaveAsJpegAsync(folder.File("c.jpg"), quality: 100);
        await image.SaveAsWebpAsync(folder.File("d.webp"), lossless: true);

        Assert.Equal(s_settings, (await GeneratedImage.LoadAsync(folder.File("a.png"))).Settings);
        Assert.True(new FileInfo(folder.File("b.jpg")).Length < new FileInfo(folder.File("c.jpg")).Length);
        Assert.Equal(image.Pixels.ToArray(), (await GeneratedImage.LoadAsync(folder.File("d.webp"))).Pixels.ToArray());
    }

    [Fact]
    public async Task Encode_async_writes_the_same_bytes_as_encode()
    {
        var image = new GeneratedImage(16, 8, TestImages.Noise(16, 8), s_settings);
        using var stream = new MemoryStream();

        await image.EncodeAsync(stream, ImageFormat.Png);

        Assert.Equal(image.Encode(ImageFormat.Png), stream.ToArray());
    }

    [Fact]
    public void Settings_are_left_out_when_embedding_is_off_or_the_image_has_none()
    {
        var image = new GeneratedImage(8, 8, TestImages.Noise(8, 8), s_settings);

        Assert.Null(PngChunks.FindText(image.Encode(ImageFormat.Png, new ImageEncoderOptions { EmbedSettings = false }), "parameters"));
        Assert.Null(PngChunks.FindText(image.WithSettings(null).Encode(ImageFormat.Png), "parameters"));
        Assert.NotNull(PngChunks.FindText(image.Encode(ImageFormat.Png), "parameters"));
    }

    [Fact]
    public async Task Failed_write_leaves_the_existing_file_untouched_and_no_temporary_file()
    {
        using var folder = new TempFolder();
        var path = folder.File("keep.png");
        await File.WriteAllTextAsync(path, "the old content");

        var e = await Assert.ThrowsAsync<IOException>(() => AtomicFile.WriteAsync(path, async (stream, ct) =>
        {
            await stream.WriteAsync(new byte[4096], ct);
            throw new IOException("disk full halfway");
        }, CancellationToken.None));

        Assert.Equal("disk full halfway", e.Message);
        Assert.Equal("the old content", await File.ReadAllTextAsync(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public async Task Cancelled_save_leaves_the_existing_file_untouched()
    {
        using var folder = new TempFolder();
        var path = folder.File("keep.png");
        await File.WriteAllTextAsync(path, "the old content");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new GeneratedImage(8, 8, TestImages.Noise(8, 8)).SaveAsPngAsync(path, cancelled.Token));

        Assert.Equal("the old content", await File.ReadAllTextAsync(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public async Task Save_replaces_an_existing_file_completely()
    {
        using var folder = new TempFolder();
        var path = folder.File("image.png");
        await File.WriteAllBytesAsync(path, new byte[1_000_000]);
        var image = new GeneratedImage(8, 8, TestImages.Noise(8, 8));

        await image.SaveAsPngAsync(path);

        Assert.Equal(image.Encode(ImageFormat.Png), await File.ReadAllBytesAsync(path));
        Assert.Equal([path], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Webp_wider_than_the_format_allows_is_refused_with_the_limit()
    {
        var image = new GeneratedImage(16384, 1, new byte[16384 * 3]);

        var e = Assert.Throws<NotSupportedException>(() => image.Encode(ImageFormat.Webp));

        Assert.Contains("16384x1", e.Message, StringComparison.Ordinal);
        Assert.Contains("at most 16383", e.Message, StringComparison.Ordinal);
        Assert.True(PngChunks.HasSignature(image.Encode(ImageFormat.Png)));
    }

    [Fact]
    public void Encoder_options_refuse_values_out_of_range()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageEncoderOptions { Quality = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageEncoderOptions { Quality = 101 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageEncoderOptions { PngCompressionLevel = 10 });
    }
}
