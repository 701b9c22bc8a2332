using System.Globalization;

namespace NativeDiffusion.Images;

/// <summary>
/// An image prepared as img2img input: 8-bit RGB, row-major, both sides multiples of 8, opaque (see
/// <see cref="InputImageOptions.Alpha"/>), in sRGB and upright (EXIF orientation applied). Reads PNG, JPEG and WebP.
/// </summary>
public sealed class InputImage
{
    private readonly byte[] _pixels;

    private InputImage(byte[] pixels, int width, int height, int originalWidth, int originalHeight, ImageFormat? format, string? infotext)
    {
        _pixels = pixels;
        Width = width;
        Height = height;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        SourceFormat = format;
        Infotext = infotext;
        Settings = GenerationSettings.TryParseInfotext(infotext, out var settings) ? settings : null;
    }

    /// <summary>Width in pixels (a multiple of 8).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (a multiple of 8).</summary>
    public int Height { get; }

    /// <summary>The width of the image as read, before any resizing.</summary>
    public int OriginalWidth { get; }

    /// <summary>The height of the image as read, before any resizing.</summary>
    public int OriginalHeight { get; }

    /// <summary>The pixels: <see cref="Width"/> * <see cref="Height"/> * 3 bytes of RGB, row-major, top row first.</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <summary>The format the image was decoded from; null when it came from pixels.</summary>
    public ImageFormat? SourceFormat { get; }

    /// <summary>The text of a PNG's <c>parameters</c> chunk (the web UI's record of how the image was made), if any.</summary>
    public string? Infotext { get; }

    /// <summary>The settings read from <see cref="Infotext"/>, when it is in the web UI's format; else null.</summary>
    public GenerationSettings? Settings { get; }

    /// <summary>Decodes an encoded PNG, JPEG or WebP image.</summary>
    /// <exception cref="InvalidDataException">Empty, damaged or truncated data, another format, zero size, or a side beyond <see cref="InputImageOptions.MaxDimension"/>.</exception>
    /// <exception cref="ArgumentException">Sides that are not multiples of 8 with <see cref="InputSizeMode.RequireMultipleOf8"/> (the message names the size and the nearest valid ones), or options that do not fit together.</exception>
    public static InputImage Decode(ReadOnlySpan<byte> data, InputImageOptions? options = null)
    {
        options ??= InputImageOptions.Default;
        options.Validate();
        if (data.Length > options.MaxEncodedBytes)
        {
            throw new InvalidDataException($"The image data is {data.Length} bytes, more than the limit of {options.MaxEncodedBytes}.");
        }

        var decoded = ImageCodec.Decode(data, options.MaxDimension);
        var infotext = decoded.Format == ImageFormat.Png ? PngChunks.TryFindText(data, PngMetadata.ParametersKeyword) : null;
        return Prepare(decoded.Rgba, decoded.Width, decoded.Height, decoded.Format, infotext, options);
    }

    /// <summary>Reads and decodes an image file (see <see cref="Decode"/>); errors about the data name the file.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static async Task<InputImage> LoadAsync(string path, InputImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= InputImageOptions.Default;
        options.Validate();
        var data = await ImageFiles.ReadAsync(path, options.MaxEncodedBytes, cancellationToken).ConfigureAwait(false);
        return ImageFiles.NameFileOnError(path, () => Decode(data, options));
    }

    /// <summary>Reads <paramref name="stream"/> to its end and decodes it (see <see cref="Decode"/>).</summary>
    public static async Task<InputImage> LoadAsync(Stream stream, InputImageOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= InputImageOptions.Default;
        options.Validate();
        var data = await ImageFiles.ReadAsync(stream, options.MaxEncodedBytes, cancellationToken).ConfigureAwait(false);
        return Decode(data, options);
    }

    /// <summary>An input from a generated image (its pixels and settings), checked or resized as <paramref name="options"/> say.</summary>
    public static InputImage FromImage(GeneratedImage image, InputImageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= InputImageOptions.Default;
        options.Validate();
        if (image.Width > options.MaxDimension || image.Height > options.MaxDimension)
        {
            throw new ArgumentException($"The image is {image.Width}x{image.Height} pixels, larger than the limit of {options.MaxDimension} pixels a side.", nameof(image));
        }

        var rgba = ImageCodec.RgbToRgba(image.Pixels.Span, image.Width, image.Height);
        return Prepare(rgba, image.Width, image.Height, null, image.Settings?.ToInfotext(), options);
    }

    /// <summary>The size <paramref name="options"/> turn a <paramref name="width"/> x <paramref name="height"/> image into.</summary>
    /// <exception cref="ArgumentException">With <see cref="InputSizeMode.RequireMultipleOf8"/>, a side that is not a multiple of 8; the message names the size and the nearest valid sizes.</exception>
    public static (int Width, int Height) TargetSize(int width, int height, InputImageOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        options ??= InputImageOptions.Default;
        options.Validate();
        switch (options.SizeMode)
        {
            case InputSizeMode.ResizeTo:
                return (options.Width!.Value, options.Height!.Value);
            case InputSizeMode.RoundToMultipleOf8:
                return (Math.Min(RoundTo8(width), options.MaxDimension / 8 * 8), Math.Min(RoundTo8(height), options.MaxDimension / 8 * 8));
            default:
                if (width % 8 == 0 && height % 8 == 0)
                {
                    return (width, height);
                }

                var down = $"{Math.Max(8, width / 8 * 8)}x{Math.Max(8, height / 8 * 8)}";
                var up = $"{(width + 7) / 8 * 8}x{(height + 7) / 8 * 8}";
                var nearest = $"{RoundTo8(width)}x{RoundTo8(height)}";
                var sizes = new[] { nearest, down, up }.Distinct().ToArray();
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"The image is {width}x{height}, but both sides must be multiples of 8. Nearest valid sizes: ")
                    + string.Join(", ", sizes)
                    + $". Crop or resize it, or set {nameof(InputImageOptions)}.{nameof(InputImageOptions.SizeMode)} to {nameof(InputSizeMode.RoundToMultipleOf8)} or {nameof(InputSizeMode.ResizeTo)}.");
        }
    }

    private static InputImage Prepare(byte[] rgba, int width, int height, ImageFormat? format, string? infotext, InputImageOptions options)
    {
        var (targetWidth, targetHeight) = TargetSize(width, height, options);
        ImageCodec.Flatten(rgba, options.Alpha);
        if (targetWidth != width || targetHeight != height)
        {
            rgba = ImageCodec.Resize(rgba, width, height, targetWidth, targetHeight);
        }

        return new InputImage(ImageCodec.RgbaToRgb(rgba), targetWidth, targetHeight, width, height, format, infotext);
    }

    private static int RoundTo8(int value) => Math.Max(8, (int)Math.Round(value / 8.0, MidpointRounding.AwayFromZero) * 8);
}
