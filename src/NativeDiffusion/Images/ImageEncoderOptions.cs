namespace NativeDiffusion.Images;

/// <summary>How an image is encoded. Each property checks its value when it is set.</summary>
public sealed record ImageEncoderOptions
{
    /// <summary>The defaults: quality 90, lossy WebP, PNG compression level 6, settings embedded.</summary>
    public static ImageEncoderOptions Default { get; } = new();

    /// <summary>
    /// For JPEG and lossy WebP, the quality from 1 (smallest) to 100 (best); for lossless WebP, the effort from 1 (fastest)
    /// to 100 (smallest file). Not used for PNG. Default 90.
    /// </summary>
    public int Quality
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Quality));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 100, nameof(Quality));
            field = value;
        }
    } = 90;

    /// <summary>For WebP, whether to encode losslessly (the pixels read back exactly). Default false.</summary>
    public bool Lossless { get; init; }

    /// <summary>For PNG, the zlib compression level from 0 (none, fastest) to 9 (smallest). Default 6.</summary>
    public int PngCompressionLevel
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value, nameof(PngCompressionLevel));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 9, nameof(PngCompressionLevel));
            field = value;
        }
    } = 6;

    /// <summary>
    /// For PNG, whether to write the image's <see cref="GeneratedImage.Settings"/> into a <c>parameters</c> text chunk,
    /// as the web UI does (nothing is written when the image has none). Default true.
    /// </summary>
    public bool EmbedSettings { get; init; } = true;
}
