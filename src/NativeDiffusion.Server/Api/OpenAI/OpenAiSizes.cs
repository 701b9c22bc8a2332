using System.Globalization;
using NativeDiffusion.Server.Configuration;
using NativeDiffusion.Server.Jobs;

namespace NativeDiffusion.Server.Api.OpenAI;

/// <summary>
/// Maps OpenAI's <c>size</c> (<c>1024x1024</c>, <c>1536x1024</c>, <c>auto</c>...) onto a size the model generates: each side
/// rounded to a multiple of 8 (64 to 4096), then scaled down, keeping the aspect ratio, to fit <see cref="ServerOptions.MaxPixels"/>.
/// </summary>
internal static class OpenAiSizes
{
    public static (int Width, int Height) Map(string? size, ModelOptions model, ServerOptions options)
    {
        if (string.IsNullOrWhiteSpace(size) || size.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            return Fit(model.DefaultWidth, model.DefaultHeight, options.MaxPixels);
        }

        var parts = size.Split('x', 'X');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            || width < 1 || height < 1 || width > 16384 || height > 16384)
        {
            throw new RequestRejectedException(
                StatusCodes.Status400BadRequest, $"Invalid size '{size}': use WIDTHxHEIGHT (e.g. 1024x1024, 512x768) or auto.", "size", "invalid_size");
        }

        return Fit(RoundTo8(width), RoundTo8(height), options.MaxPixels);
    }

    private static (int Width, int Height) Fit(int width, int height, long maxPixels)
    {
        if ((long)width * height <= maxPixels)
        {
            return (width, height);
        }

        var scale = Math.Sqrt(maxPixels / ((double)width * height));
        return (FloorTo8(width * scale), FloorTo8(height * scale));
    }

    private static int RoundTo8(int value) =>
        Math.Clamp((int)Math.Round(value / 8.0, MidpointRounding.AwayFromZero) * 8, GenerationRequest.MinSide, GenerationRequest.MaxSide);

    private static int FloorTo8(double value) => Math.Clamp((int)(value / 8) * 8, GenerationRequest.MinSide, GenerationRequest.MaxSide);
}
