using NativeDiffusion.Images;

namespace NativeDiffusion.Server.Tests;

internal static class TestImages
{
    /// <summary>Decodes a base64 PNG from a response, with its <c>parameters</c> settings.</summary>
    public static GeneratedImage FromBase64(string base64) => GeneratedImage.Decode(Convert.FromBase64String(base64));

    public static bool SamePixels(GeneratedImage a, GeneratedImage b) =>
        a.Width == b.Width && a.Height == b.Height && a.Pixels.Span.SequenceEqual(b.Pixels.Span);

    /// <summary>A small gradient PNG, for img2img.</summary>
    public static byte[] GradientPng(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                rgb[i] = (byte)(x * 255 / width);
                rgb[i + 1] = (byte)(y * 255 / height);
                rgb[i + 2] = 128;
            }
        }

        return new GeneratedImage(width, height, rgb).Encode(ImageFormat.Png);
    }
}
