using System.Runtime.InteropServices;
using NativeDiffusion.Images;

namespace NativeDiffusion.Tests.Generation;

/// <summary>The tiny SD 1.x fixture model, its tokenizer and the settings and images of its reference pipeline runs.</summary>
internal static class TinySd1
{
    public static string Checkpoint => TestPaths.TinySd1Model;

    public static string DiffusersFolder => TestPaths.Fixture("tiny-sd1", "diffusers");

    public static string Tokenizer => TestPaths.Fixture("tokenizer");

    public static ModelLoadOptions Options => new() { TokenizerPath = Tokenizer };

    /// <summary>The settings of the <c>sd1.pipe.euler.64x64</c> run in reference.json (Euler, linspace spacing: the sampler's default).</summary>
    public static GenerationRequest EulerRequest => new()
    {
        Prompt = "a photo of an astronaut riding a horse on mars",
        NegativePrompt = "blurry, low quality",
        Width = 64,
        Height = 64,
        Steps = 6,
        CfgScale = 7.5,
        Sampler = Samplers.Euler,
        TimestepSpacing = TimestepSpacings.Linspace,
        Seed = 7,
        Rng = NoiseSource.Cpu,
    };

    public static Task<DiffusionModel> LoadAsync() => DiffusionModel.LoadAsync(Checkpoint, Options);

    /// <summary>A reference image (H x W x 3 floats in [0, 1]) as 8-bit RGB, rounded as diffusers' numpy_to_pil does.</summary>
    public static byte[] ReferencePixels(string key)
    {
        var path = TestPaths.Fixture("tiny-sd1", "reference.safetensors");
        using var file = SafeTensorsFile.Open(path);
        Assert.True(file.TryGetTensor(key, out var tensor), $"{key} is missing from {path}");
        Assert.Equal(TensorDataType.F32, tensor.Dtype);
        var bytes = new byte[tensor.DataSize];
        using (var stream = File.OpenRead(path))
        {
            stream.Position = tensor.DataOffset;
            stream.ReadExactly(bytes);
        }

        var values = MemoryMarshal.Cast<byte, float>(bytes);
        var pixels = new byte[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            // (x * 255).round() in float32, round half to even like numpy.
            pixels[i] = (byte)Math.Clamp(MathF.Round(values[i] * 255f, MidpointRounding.ToEven), 0, 255);
        }

        return pixels;
    }

    /// <summary>The largest difference, in 8-bit levels, between two RGB images of the same size.</summary>
    public static int MaxDifference(GeneratedImage image, byte[] expected)
    {
        Assert.Equal(expected.Length, image.Pixels.Length);
        var actual = image.Pixels.Span;
        var max = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        }

        return max;
    }
}
