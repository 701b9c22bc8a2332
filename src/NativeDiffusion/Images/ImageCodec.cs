using System.Text;
using SkiaSharp;

namespace NativeDiffusion.Images;

/// <summary>The pixels of a decoded image: RGBA, 8 bits a channel, not premultiplied, in sRGB, upright.</summary>
internal sealed record DecodedImage(int Width, int Height, byte[] Rgba, ImageFormat Format);

/// <summary>
/// Encoding and decoding through SkiaSharp, and the pixel conversions around them. SkiaSharp has no 3-byte RGB pixel
/// type, so pixels cross into it as RGBA (opaque on the way out).
/// </summary>
internal static class ImageCodec
{
    /// <summary>Encodes <paramref name="rgb"/> (row-major RGB8) as <paramref name="format"/>.</summary>
    public static unsafe byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, ImageFormat format, ImageEncoderOptions options)
    {
        var limit = format switch
        {
            ImageFormat.Webp => 16383, // the WebP bitstream's limit
            ImageFormat.Jpeg => 65535, // the JPEG header's 16-bit sizes
            _ => int.MaxValue,
        };
        if (width > limit || height > limit)
        {
            throw new NotSupportedException($"A {width}x{height} image cannot be written as {format.DisplayName()}: the format allows at most {limit} pixels a side.");
        }

        if ((long)width * height * 4 > Array.MaxLength)
        {
            throw new NotSupportedException($"A {width}x{height} image is too large to encode: its RGBA pixels do not fit in one buffer.");
        }

        var rgba = RgbToRgba(rgb, width, height);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        fixed (byte* pixels = rgba)
        {
            using var pixmap = new SKPixmap(info, (IntPtr)pixels, width * 4);
            using var data = format switch
            {
                ImageFormat.Png => pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, options.PngCompressionLevel)),
                ImageFormat.Jpeg => pixmap.Encode(new SKJpegEncoderOptions(options.Quality)),
                ImageFormat.Webp => pixmap.Encode(new SKWebpEncoderOptions(
                    options.Lossless ? SKWebpEncoderCompression.Lossless : SKWebpEncoderCompression.Lossy, options.Quality)),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format."),
            };
            return data?.ToArray() ?? throw new InvalidOperationException($"SkiaSharp could not encode a {width}x{height} image as {format}.");
        }
    }

    /// <summary>
    /// Decodes a PNG, JPEG or WebP image, converted to sRGB and turned upright by its EXIF orientation.
    /// </summary>
    /// <exception cref="InvalidDataException">Empty data, not one of the three formats, damaged or truncated data, zero
    /// size, or a side longer than <paramref name="maxDimension"/>; the message says which.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, int maxDimension)
    {
        if (data.IsEmpty)
        {
            throw new InvalidDataException("The image data is empty (0 bytes).");
        }

        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData) ?? throw Unreadable(data);
        var format = codec.EncodedFormat switch
        {
            SKEncodedImageFormat.Png => ImageFormat.Png,
            SKEncodedImageFormat.Jpeg => ImageFormat.Jpeg,
            SKEncodedImageFormat.Webp => ImageFormat.Webp,
            var other => throw new InvalidDataException($"{other.ToString().ToUpperInvariant()} images are not supported: use PNG, JPEG or WebP."),
        };

        var name = format.DisplayName();
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0)
        {
            throw new InvalidDataException($"The {name} image has no pixels: its size is {width}x{height}.");
        }

        if (width > maxDimension || height > maxDimension)
        {
            throw new InvalidDataException($"The {name} image is {width}x{height} pixels, larger than the limit of {maxDimension} pixels a side.");
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul, SKColorSpace.CreateSrgb());
        var rgba = new byte[checked(width * height * 4)];
        var result = codec.GetPixels(info, rgba);
        switch (result)
        {
            case SKCodecResult.Success:
                break;
            case SKCodecResult.IncompleteInput:
                throw new InvalidDataException($"The {name} data is truncated: its {data.Length} bytes end before the last row of the {width}x{height} image.");
            case SKCodecResult.ErrorInInput:
            case SKCodecResult.InvalidInput:
                throw new InvalidDataException($"The {name} data is damaged: the decoder found an error in the {width}x{height} image ({result}).");
            default:
                throw new InvalidDataException($"The {name} image ({width}x{height}) could not be decoded: {result}.");
        }

        return Orient(new DecodedImage(width, height, rgba, format), codec.EncodedOrigin);
    }

    /// <summary>Makes the pixels of <paramref name="rgba"/> opaque: alpha blended over white, or ignored (the colour channels kept as they are).</summary>
    public static void Flatten(Span<byte> rgba, AlphaHandling alpha)
    {
        for (var i = 0; i < rgba.Length; i += 4)
        {
            var a = rgba[i + 3];
            if (a != 255 && alpha == AlphaHandling.CompositeOverWhite)
            {
                var white = 255 * (255 - a);
                rgba[i] = (byte)((rgba[i] * a + white + 127) / 255);
                rgba[i + 1] = (byte)((rgba[i + 1] * a + white + 127) / 255);
                rgba[i + 2] = (byte)((rgba[i + 2] * a + white + 127) / 255);
            }

            rgba[i + 3] = 255;
        }
    }

    /// <summary>
    /// Resizes opaque RGBA pixels: a mipmapped linear filter when either side shrinks (no aliasing at large factors), else
    /// the Mitchell cubic filter.
    /// </summary>
    public static unsafe byte[] Resize(byte[] rgba, int width, int height, int newWidth, int newHeight)
    {
        var result = new byte[checked(newWidth * newHeight * 4)];
        var sampling = newWidth < width || newHeight < height
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.Mitchell);
        fixed (byte* source = rgba)
        fixed (byte* destination = result)
        {
            using var sourcePixmap = new SKPixmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), (IntPtr)source, width * 4);
            using var image = SKImage.FromPixels(sourcePixmap) ?? throw new InvalidOperationException("SkiaSharp could not wrap the pixels to resize.");
            using var surface = SKSurface.Create(new SKImageInfo(newWidth, newHeight, SKColorType.Rgba8888, SKAlphaType.Opaque), (IntPtr)destination, newWidth * 4)
                ?? throw new InvalidOperationException($"SkiaSharp could not create a {newWidth}x{newHeight} surface.");
            surface.Canvas.DrawImage(image, new SKRect(0, 0, newWidth, newHeight), sampling, null);
            surface.Flush();
        }

        return result;
    }

    /// <summary>RGB8 from RGBA8, dropping the alpha channel.</summary>
    public static byte[] RgbaToRgb(ReadOnlySpan<byte> rgba)
    {
        var rgb = new byte[rgba.Length / 4 * 3];
        for (int i = 0, j = 0; i < rgba.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }

        return rgb;
    }

    /// <summary>Opaque RGBA8 from RGB8.</summary>
    public static byte[] RgbToRgba(ReadOnlySpan<byte> rgb, int width, int height)
    {
        var rgba = new byte[checked(width * height * 4)];
        for (int i = 0, j = 0; j < rgba.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }

        return rgba;
    }

    // The pixels as they are meant to be seen: EXIF orientations 2 to 8 mirror and/or rotate the stored image.
    private static DecodedImage Orient(DecodedImage image, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0)
        {
            return image;
        }

        var (w, h) = (image.Width, image.Height);
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (outW, outH) = swaps ? (h, w) : (w, h);
        var source = image.Rgba;
        var result = new byte[source.Length];
        for (var y = 0; y < outH; y++)
        {
            for (var x = 0; x < outW; x++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                source.AsSpan((sy * w + sx) * 4, 4).CopyTo(result.AsSpan((y * outW + x) * 4));
            }
        }

        return image with { Width = outW, Height = outH, Rgba = result };
    }

    private static InvalidDataException Unreadable(ReadOnlySpan<byte> data)
    {
        string? known = null;
        if (PngChunks.HasSignature(data))
        {
            known = "PNG";
        }
        else if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            known = "JPEG";
        }
        else if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            known = "WebP";
        }

        if (known is not null)
        {
            return new InvalidDataException($"The {known} data is damaged or truncated: its header could not be read ({data.Length} bytes).");
        }

        if (data.StartsWith("GIF8"u8) || data.StartsWith("BM"u8))
        {
            return new InvalidDataException($"{(data[0] == 'G' ? "GIF" : "BMP")} images are not supported: use PNG, JPEG or WebP.");
        }

        var head = data[..Math.Min(8, data.Length)];
        return new InvalidDataException(
            $"Not a PNG, JPEG or WebP image: the data ({data.Length} bytes) starts with bytes {Convert.ToHexString(head)}"
            + (head.ToArray().All(b => b is >= 0x20 and < 0x7F) ? $" (\"{Encoding.ASCII.GetString(head)}\")." : "."));
    }
}
