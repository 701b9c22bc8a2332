using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Images;

/// <summary>Pixel patterns, and PNG files built by hand (not through SkiaSharp) so that tests control every byte.</summary>
internal static class TestImages
{
    /// <summary>A smooth RGB image: red grows to the right, green downwards, blue is constant (channels tell apart).</summary>
    public static byte[] Gradient(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                rgb[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                rgb[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                rgb[i + 2] = 96;
            }
        }

        return rgb;
    }

    /// <summary>Deterministic noise: every byte differs from its neighbours, so any lossy step shows.</summary>
    public static byte[] Noise(int width, int height, int seed = 1)
    {
        var rgb = new byte[width * height * 3];
        new Random(seed).NextBytes(rgb);
        return rgb;
    }

    /// <summary>An image whose left half is <paramref name="left"/> and right half <paramref name="right"/>.</summary>
    public static byte[] Halves(int width, int height, (byte R, byte G, byte B) left, (byte R, byte G, byte B) right)
    {
        var rgb = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = x < width / 2 ? left : right;
                var i = (y * width + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = (c.R, c.G, c.B);
            }
        }

        return rgb;
    }

    /// <summary>A PNG of 8-bit <paramref name="channels"/> (3: RGB, 4: RGBA) pixels, each row with filter 0, plus extra chunks after IHDR.</summary>
    public static byte[] Png(int width, int height, int channels, byte[] pixels, params byte[][] extraChunks)
    {
        var raw = new MemoryStream();
        for (var y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            raw.Write(pixels, y * width * channels, width * channels);
        }

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(raw.ToArray());
        }

        var output = new MemoryStream();
        output.Write(PngChunks.Signature);
        output.Write(Chunk("IHDR", Header(width, height, channels)));
        foreach (var chunk in extraChunks)
        {
            output.Write(chunk);
        }

        output.Write(Chunk("IDAT", compressed.ToArray()));
        output.Write(Chunk("IEND", []));
        return output.ToArray();
    }

    /// <summary>The 13 bytes of an IHDR chunk's data.</summary>
    public static byte[] Header(int width, int height, int channels)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = (byte)(channels == 4 ? 6 : 2);
        return ihdr;
    }

    /// <summary>A complete chunk: length, type, data, CRC.</summary>
    public static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    /// <summary>zlib-compressed bytes.</summary>
    public static byte[] Deflate(byte[] data)
    {
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return compressed.ToArray();
    }

    /// <summary>Mean and largest absolute difference between two equally long byte arrays.</summary>
    public static (double Mean, int Max) Difference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        var max = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = Math.Abs(a[i] - b[i]);
            sum += d;
            max = Math.Max(max, d);
        }

        return ((double)sum / a.Length, max);
    }
}
