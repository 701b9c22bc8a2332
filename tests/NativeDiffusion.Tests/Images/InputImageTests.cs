using System.Buffers.Binary;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Images;

/// <summary>Reading img2img input: formats, alpha, sizes that are not multiples of 8, resizing and bad data.</summary>
public sealed class InputImageTests
{
    private static readonly GenerationSettings s_settings = new()
    {
        Prompt = "old photo",
        Steps = 20,
        Sampler = "Euler",
        CfgScale = 5,
        Seed = 3,
        Width = 64,
        Height = 32,
    };

    [Theory]
    [InlineData(ImageFormat.Png)]
    [InlineData(ImageFormat.Webp)]
    public void Lossless_files_decode_to_their_exact_pixels(ImageFormat format)
    {
        var rgb = TestImages.Noise(64, 32);
        var encoded = new GeneratedImage(64, 32, rgb, s_settings).Encode(format, new ImageEncoderOptions { Lossless = true });

        var input = InputImage.Decode(encoded);

        Assert.Equal((64, 32), (input.Width, input.Height));
        Assert.Equal((64, 32), (input.OriginalWidth, input.OriginalHeight));
        Assert.Equal(format, input.SourceFormat);
        Assert.Equal(rgb, input.Pixels.ToArray());
    }

    [Fact]
    public void Png_parameters_become_infotext_and_settings()
    {
        var png = new GeneratedImage(64, 32, TestImages.Noise(64, 32), s_settings).Encode(ImageFormat.Png);

        var input = InputImage.Decode(png);

        Assert.Equal(s_settings.ToInfotext(), input.Infotext);
        Assert.Equal(s_settings, input.Settings);
    }

    [Fact]
    public void Png_without_iend_still_decodes_without_its_metadata_check_failing()
    {
        var png = new GeneratedImage(64, 32, TestImages.Noise(64, 32), s_settings).Encode(ImageFormat.Png);
        var cut = png[..^12]; // drop IEND: every image row is still there

        var input = InputImage.Decode(cut);

        Assert.Throws<InvalidDataException>(() => PngChunks.Read(cut));
        Assert.Equal(s_settings, input.Settings);
    }

    [Fact]
    public void Jpeg_decodes_close_to_the_original()
    {
        var rgb = TestImages.Gradient(64, 32);
        var jpeg = new GeneratedImage(64, 32, rgb).Encode(ImageFormat.Jpeg, new ImageEncoderOptions { Quality = 95 });

        var input = InputImage.Decode(jpeg);

        var (mean, _) = TestImages.Difference(rgb, input.Pixels.Span);
        Assert.Equal(ImageFormat.Jpeg, input.SourceFormat);
        Assert.True(mean < 2.0, $"mean difference {mean}");
        Assert.Null(input.Infotext);
    }

    private static byte[] TransparentPng()
    {
        // Three pixels of colour (200, 100, 50): fully transparent, half transparent, opaque; then one opaque black.
        byte[] rgba = [200, 100, 50, 0, 200, 100, 50, 128, 200, 100, 50, 255, 0, 0, 0, 255];
        var row = Enumerable.Range(0, 2).SelectMany(_ => rgba).ToArray(); // 8 pixels a row
        return TestImages.Png(8, 8, 4, Enumerable.Range(0, 8).SelectMany(_ => row).ToArray());
    }

    [Fact]
    public void Alpha_is_composited_over_white_by_default()
    {
        var input = InputImage.Decode(TransparentPng());

        var p = input.Pixels.Span;
        Assert.Equal(new byte[] { 255, 255, 255 }, p[..3].ToArray());
        // 200*128/255 + 255*127/255 = 227.4, 100*128/255 + 127 = 177.2, 50*128/255 + 127 = 152.1
        Assert.Equal(new byte[] { 227, 177, 152 }, p[3..6].ToArray());
        Assert.Equal(new byte[] { 200, 100, 50 }, p[6..9].ToArray());
        Assert.Equal(new byte[] { 0, 0, 0 }, p[9..12].ToArray());
    }

    [Fact]
    public void Alpha_can_be_ignored_keeping_the_colour_channels()
    {
        var input = InputImage.Decode(TransparentPng(), new InputImageOptions { Alpha = AlphaHandling.Ignore });

        Assert.Equal(new byte[] { 200, 100, 50, 200, 100, 50, 200, 100, 50, 0, 0, 0 }, input.Pixels.Span[..12].ToArray());
    }

    [Fact]
    public void Size_that_is_not_a_multiple_of_8_is_refused_naming_it_and_the_nearest_valid_sizes()
    {
        var png = new GeneratedImage(30, 20, TestImages.Gradient(30, 20)).Encode(ImageFormat.Png);

        var e = Assert.Throws<ArgumentException>(() => InputImage.Decode(png));

        Assert.Contains("30x20", e.Message, StringComparison.Ordinal);
        Assert.Contains("Nearest valid sizes: 32x24, 24x16.", e.Message, StringComparison.Ordinal);
        Assert.Contains("RoundToMultipleOf8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(30, 20, 32, 24)]
    [InlineData(513, 515, 512, 512)]
    [InlineData(3, 12, 8, 16)]
    [InlineData(64, 64, 64, 64)]
    public void Target_size_rounds_each_side_to_the_nearest_multiple_of_8(int width, int height, int expectedWidth, int expectedHeight)
    {
        var options = new InputImageOptions { SizeMode = InputSizeMode.RoundToMultipleOf8 };

        Assert.Equal((expectedWidth, expectedHeight), InputImage.TargetSize(width, height, options));
    }

    [Fact]
    public void Rounding_resizes_the_image_and_keeps_its_content_in_place()
    {
        var rgb = TestImages.Halves(30, 20, (255, 0, 0), (0, 0, 255));
        var png = new GeneratedImage(30, 20, rgb).Encode(ImageFormat.Png);

        var input = InputImage.Decode(png, new InputImageOptions { SizeMode = InputSizeMode.RoundToMultipleOf8 });

        Assert.Equal((32, 24), (input.Width, input.Height));
        Assert.Equal((30, 20), (input.OriginalWidth, input.OriginalHeight));
        var p = input.Pixels.Span;
        var topLeft = p[..3].ToArray();
        var bottomRight = p[^3..].ToArray();
        Assert.Equal(new byte[] { 255, 0, 0 }, topLeft);
        Assert.Equal(new byte[] { 0, 0, 255 }, bottomRight);
    }

    [Fact]
    public void Resize_to_a_given_size_downscales_smoothly()
    {
        var rgb = TestImages.Gradient(256, 128);
        var png = new GeneratedImage(256, 128, rgb).Encode(ImageFormat.Png);

        var input = InputImage.Decode(png, new InputImageOptions { SizeMode = InputSizeMode.ResizeTo, Width = 64, Height = 32 });

        Assert.Equal((64, 32), (input.Width, input.Height));
        var image = GeneratedImage.FromOwnedBuffer(64, 32, input.Pixels.ToArray());
        for (var x = 1; x < 64; x++)
        {
            Assert.True(image.GetPixel(x, 10).R >= image.GetPixel(x - 1, 10).R, $"red falls at column {x}");
        }

        Assert.InRange(image.GetPixel(0, 0).R, 0, 8);
        Assert.InRange(image.GetPixel(63, 0).R, 247, 255);
        Assert.InRange(image.GetPixel(32, 31).G, 247, 255);
        Assert.Equal(96, image.GetPixel(20, 20).B);
    }

    [Fact]
    public void Generated_image_becomes_input_with_its_settings()
    {
        var image = new GeneratedImage(64, 32, TestImages.Noise(64, 32), s_settings);

        var input = InputImage.FromImage(image);

        Assert.Equal(image.Pixels.ToArray(), input.Pixels.ToArray());
        Assert.Equal(s_settings, input.Settings);
        Assert.Null(input.SourceFormat);
    }

    [Fact]
    public void Options_that_do_not_fit_together_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InputImageOptions { Width = 12 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new InputImageOptions { MaxDimension = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new InputImageOptions { MaxDimension = InputImageOptions.LargestMaxDimension + 1 });
        Assert.Throws<ArgumentException>(() => new InputImageOptions { SizeMode = InputSizeMode.ResizeTo, Width = 64 }.Validate());
        Assert.Throws<ArgumentException>(() => new InputImageOptions { Width = 64, Height = 64 }.Validate());
        Assert.Throws<ArgumentException>(() => new InputImageOptions { SizeMode = InputSizeMode.ResizeTo, Width = 64, Height = 64, MaxDimension = 32 }.Validate());
    }

    [Fact]
    public void Empty_data_is_invalid_data()
    {
        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode([]));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_that_is_no_image_is_named_by_its_first_bytes()
    {
        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode("<html>hello</html>"u8));

        Assert.Contains("Not a PNG, JPEG or WebP image", e.Message, StringComparison.Ordinal);
        Assert.Contains("3C68746D6C3E6865", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ImageFormat.Png)]
    [InlineData(ImageFormat.Jpeg)]
    [InlineData(ImageFormat.Webp)]
    public void Truncated_file_is_invalid_data_naming_the_format(ImageFormat format)
    {
        var encoded = new GeneratedImage(64, 64, TestImages.Noise(64, 64)).Encode(format);

        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode(encoded.AsSpan(0, encoded.Length * 2 / 3)));

        Assert.Contains(format == ImageFormat.Webp ? "WebP" : format.ToString().ToUpperInvariant(), e.Message, StringComparison.Ordinal);
        Assert.Matches("truncated|damaged", e.Message);
    }

    [Fact]
    public void Damaged_compressed_data_is_invalid_data()
    {
        var png = new GeneratedImage(64, 64, TestImages.Noise(64, 64)).Encode(ImageFormat.Png);
        var idat = PngChunks.Read(png).First(c => c.Type == "IDAT");
        png.AsSpan(idat.DataOffset + 2, 64).Fill(0xFF);

        Assert.Throws<InvalidDataException>(() => InputImage.Decode(png));
    }

    private static byte[] PngWithHeaderSize(int width, int height)
    {
        // A valid PNG of 8x8 whose IHDR (with a recomputed CRC) claims another size.
        var png = new GeneratedImage(8, 8, TestImages.Noise(8, 8)).Encode(ImageFormat.Png);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.Compute(png.AsSpan(12, 17)));
        return png;
    }

    [Fact]
    public void Giant_dimensions_are_refused_from_the_header_before_decoding()
    {
        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode(PngWithHeaderSize(20000, 20000)));

        Assert.Contains("20000x20000", e.Message, StringComparison.Ordinal);
        Assert.Contains("limit of 8192", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dimension_limit_is_an_option()
    {
        var png = new GeneratedImage(64, 64, TestImages.Noise(64, 64)).Encode(ImageFormat.Png);

        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode(png, new InputImageOptions { MaxDimension = 32 }));

        Assert.Contains("64x64", e.Message, StringComparison.Ordinal);
        Assert.Contains("limit of 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zero_width_header_is_invalid_data()
    {
        Assert.Throws<InvalidDataException>(() => InputImage.Decode(PngWithHeaderSize(0, 8)));
    }

    [Fact]
    public void Gif_is_refused_as_unsupported()
    {
        byte[] gif =
        [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00,
            0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
            0x02, 0x44, 0x01, 0x00, 0x3B,
        ];

        var e = Assert.Throws<InvalidDataException>(() => InputImage.Decode(gif));

        Assert.Contains("GIF images are not supported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jpeg_exif_orientation_turns_the_image_upright()
    {
        // Stored 16x8, left half red, right half blue, tagged "rotate 90 degrees clockwise to display" (orientation 6):
        // upright it is 8x16 with red on top.
        var jpeg = new GeneratedImage(16, 8, TestImages.Halves(16, 8, (255, 0, 0), (0, 0, 255)))
            .Encode(ImageFormat.Jpeg, new ImageEncoderOptions { Quality = 100 });
        byte[] exif =
        [
            0xFF, 0xE1, 0x00, 0x22, (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, // big-endian TIFF header, first IFD at 8
            0x00, 0x01, // one entry
            0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, // Orientation, SHORT, 1 value: 6
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        byte[] tagged = [.. jpeg[..2], .. exif, .. jpeg[2..]];

        var input = InputImage.Decode(tagged);

        Assert.Equal((8, 16), (input.Width, input.Height));
        var image = GeneratedImage.FromOwnedBuffer(8, 16, input.Pixels.ToArray());
        Assert.True(image.GetPixel(4, 2).R > 200 && image.GetPixel(4, 2).B < 60, $"top: {image.GetPixel(4, 2)}");
        Assert.True(image.GetPixel(4, 13).B > 200 && image.GetPixel(4, 13).R < 60, $"bottom: {image.GetPixel(4, 13)}");
    }

    [Fact]
    public async Task Load_from_a_file_names_the_file_in_errors()
    {
        using var folder = new TempFolder();
        var good = folder.File("good.png");
        var bad = folder.File("bad.png");
        await new GeneratedImage(16, 8, TestImages.Noise(16, 8), s_settings).SaveAsPngAsync(good);
        await File.WriteAllBytesAsync(bad, (await File.ReadAllBytesAsync(good))[..40]);

        var input = await InputImage.LoadAsync(good);
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => InputImage.LoadAsync(bad));

        Assert.Equal((16, 8), (input.Width, input.Height));
        Assert.StartsWith(bad, e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<FileNotFoundException>(() => InputImage.LoadAsync(folder.File("missing.png")));
    }

    [Fact]
    public async Task Load_from_a_stream_refuses_more_than_the_byte_limit()
    {
        var png = new GeneratedImage(16, 8, TestImages.Noise(16, 8)).Encode(ImageFormat.Png);

        var input = await InputImage.LoadAsync(new MemoryStream(png));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            InputImage.LoadAsync(new MemoryStream(png), new InputImageOptions { MaxEncodedBytes = png.Length - 1 }));

        Assert.Equal(16, input.Width);
        Assert.Contains($"limit of {png.Length - 1} bytes", e.Message, StringComparison.Ordinal);
    }
}
