namespace NativeDiffusion.Images;

/// <summary>
/// An image and the settings that made it: <see cref="Width"/> x <see cref="Height"/> pixels of 8-bit RGB, row-major,
/// three bytes a pixel with no padding between rows. Immutable: the pixels are never changed after construction.
/// </summary>
/// <remarks>
/// Saving and encoding run the encoder on the calling thread (tens of milliseconds for a 512x512 PNG) and write
/// asynchronously. Saved files appear complete or not at all. PNG files carry <see cref="Settings"/> in the web UI's
/// <c>parameters</c> text chunk; JPEG and WebP files carry no settings.
/// </remarks>
public sealed class GeneratedImage
{
    private readonly ReadOnlyMemory<byte> _pixels;

    /// <summary>An image from a copy of <paramref name="rgb"/>.</summary>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <param name="rgb">Exactly <paramref name="width"/> * <paramref name="height"/> * 3 bytes of RGB, row-major; copied.</param>
    /// <param name="settings">The settings that made the image, if known.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1 or too large for one buffer.</exception>
    /// <exception cref="ArgumentException"><paramref name="rgb"/> has another length; the message gives both.</exception>
    public GeneratedImage(int width, int height, ReadOnlySpan<byte> rgb, GenerationSettings? settings = null)
        : this(CopyChecked(width, height, rgb), width, height, settings)
    {
    }

    // Takes pixels whose length has been checked.
    private GeneratedImage(ReadOnlyMemory<byte> pixels, int width, int height, GenerationSettings? settings)
    {
        Width = width;
        Height = height;
        _pixels = pixels;
        Settings = settings;
    }

    /// <summary>
    /// An image that takes ownership of <paramref name="rgb"/> without copying it: the caller must not change the array
    /// afterwards. For producers (the generation pipeline) that have just filled a fresh buffer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1 or too large for one buffer.</exception>
    /// <exception cref="ArgumentException"><paramref name="rgb"/> has another length than <paramref name="width"/> * <paramref name="height"/> * 3.</exception>
    public static GeneratedImage FromOwnedBuffer(int width, int height, byte[] rgb, GenerationSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        CheckLength(width, height, rgb.Length, nameof(rgb));
        return new GeneratedImage(rgb, width, height, settings);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels: <see cref="Width"/> * <see cref="Height"/> * 3 bytes of RGB, row-major, top row first.</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <summary>The bytes of one row (<see cref="Width"/> * 3).</summary>
    public int Stride => Width * 3;

    /// <summary>The settings that made the image; null when unknown.</summary>
    public GenerationSettings? Settings { get; }

    /// <summary>The colour of pixel (<paramref name="x"/>, <paramref name="y"/>), (0, 0) being the top left.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A coordinate outside the image.</exception>
    public (byte R, byte G, byte B) GetPixel(int x, int y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(x, Width);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, Height);
        var p = _pixels.Span.Slice((y * Width + x) * 3, 3);
        return (p[0], p[1], p[2]);
    }

    /// <summary>The same pixels (shared, not copied) with other settings.</summary>
    public GeneratedImage WithSettings(GenerationSettings? settings) => new(_pixels, Width, Height, settings);

    /// <summary>The image encoded as <paramref name="format"/> (PNG with the settings chunk unless <see cref="ImageEncoderOptions.EmbedSettings"/> is off).</summary>
    /// <exception cref="ArgumentException">The settings' infotext has a NUL character, which PNG text cannot hold.</exception>
    /// <exception cref="NotSupportedException">The image is larger than the format allows (WebP: 16383 pixels a side; JPEG: 65535).</exception>
    public byte[] Encode(ImageFormat format, ImageEncoderOptions? options = null)
    {
        options ??= ImageEncoderOptions.Default;
        var encoded = ImageCodec.Encode(_pixels.Span, Width, Height, format, options);
        if (format == ImageFormat.Png && options.EmbedSettings && Settings is not null)
        {
            encoded = PngChunks.InsertText(encoded, PngMetadata.ParametersKeyword, Settings.ToInfotext());
        }

        return encoded;
    }

    /// <summary>Encodes the image as <paramref name="format"/> (see <see cref="Encode"/>) and writes it to <paramref name="destination"/>.</summary>
    public async Task EncodeAsync(Stream destination, ImageFormat format, ImageEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        cancellationToken.ThrowIfCancellationRequested();
        var encoded = Encode(format, options);
        await destination.WriteAsync(encoded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Saves the image to <paramref name="path"/> in the format its extension names (<c>.png</c>, <c>.jpg</c>/<c>.jpeg</c>,
    /// <c>.webp</c>), replacing an existing file atomically: the file is written complete or not at all.
    /// </summary>
    /// <exception cref="ArgumentException">An extension that names none of the formats.</exception>
    public Task SaveAsync(string path, ImageEncoderOptions? options = null, CancellationToken cancellationToken = default) =>
        SaveAsync(path, ImageFormats.FromPath(path), options, cancellationToken);

    /// <summary>Saves the image to <paramref name="path"/> as <paramref name="format"/>, whatever the extension, atomically.</summary>
    public async Task SaveAsync(string path, ImageFormat format, ImageEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        cancellationToken.ThrowIfCancellationRequested();
        var encoded = Encode(format, options);
        await AtomicFile.WriteAsync(path, (stream, ct) => stream.WriteAsync(encoded, ct).AsTask(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Saves the image as PNG, with its settings in the <c>parameters</c> chunk, atomically.</summary>
    public Task SaveAsPngAsync(string path, CancellationToken cancellationToken = default) =>
        SaveAsync(path, ImageFormat.Png, null, cancellationToken);

    /// <summary>Saves the image as JPEG at <paramref name="quality"/> (1 to 100), atomically.</summary>
    public Task SaveAsJpegAsync(string path, int quality = 90, CancellationToken cancellationToken = default) =>
        SaveAsync(path, ImageFormat.Jpeg, new ImageEncoderOptions { Quality = quality }, cancellationToken);

    /// <summary>Saves the image as WebP, lossy at <paramref name="quality"/> (1 to 100) or lossless, atomically.</summary>
    public Task SaveAsWebpAsync(string path, int quality = 90, bool lossless = false, CancellationToken cancellationToken = default) =>
        SaveAsync(path, ImageFormat.Webp, new ImageEncoderOptions { Quality = quality, Lossless = lossless }, cancellationToken);

    /// <summary>
    /// Decodes a PNG, JPEG or WebP image; a PNG's <c>parameters</c> chunk, when it holds settings in the web UI's format,
    /// becomes <see cref="Settings"/>. Transparent pixels are blended over white.
    /// </summary>
    /// <param name="data">The encoded image.</param>
    /// <param name="maxDimension">The longest side accepted, in pixels (1 to <see cref="InputImageOptions.LargestMaxDimension"/>).</param>
    /// <exception cref="InvalidDataException">Not an image in one of the three formats, damaged or truncated data, zero
    /// size, or a side longer than <paramref name="maxDimension"/>.</exception>
    public static GeneratedImage Decode(ReadOnlySpan<byte> data, int maxDimension = InputImageOptions.DefaultMaxDimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDimension, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDimension, InputImageOptions.LargestMaxDimension);
        var decoded = ImageCodec.Decode(data, maxDimension);
        ImageCodec.Flatten(decoded.Rgba, AlphaHandling.CompositeOverWhite);
        var settings = decoded.Format == ImageFormat.Png && GenerationSettings.TryParseInfotext(PngChunks.TryFindText(data, PngMetadata.ParametersKeyword), out var s) ? s : null;
        return new GeneratedImage(ImageCodec.RgbaToRgb(decoded.Rgba), decoded.Width, decoded.Height, settings);
    }

    /// <summary>Reads and decodes an image file (see <see cref="Decode"/>).</summary>
    /// <exception cref="InvalidDataException">As <see cref="Decode"/>; the message names the file.</exception>
    public static async Task<GeneratedImage> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        var data = await ImageFiles.ReadAsync(path, InputImageOptions.DefaultMaxEncodedBytes, cancellationToken).ConfigureAwait(false);
        return ImageFiles.NameFileOnError(path, () => Decode(data));
    }

    private static byte[] CopyChecked(int width, int height, ReadOnlySpan<byte> rgb)
    {
        CheckLength(width, height, rgb.Length, nameof(rgb));
        return rgb.ToArray();
    }

    private static void CheckLength(int width, int height, int length, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var expected = (long)width * height * 3;
        if (expected > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"A {width}x{height} image does not fit in one buffer.");
        }

        if (length != expected)
        {
            throw new ArgumentException($"A {width}x{height} RGB image needs {expected} bytes ({width} x {height} x 3), not {length}.", name);
        }
    }
}
