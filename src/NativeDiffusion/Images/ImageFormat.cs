namespace NativeDiffusion.Images;

/// <summary>The file formats images are written and read in.</summary>
public enum ImageFormat
{
    /// <summary>PNG: lossless; the generation settings go into its <c>parameters</c> text chunk.</summary>
    Png,

    /// <summary>JPEG: lossy, at <see cref="ImageEncoderOptions.Quality"/>.</summary>
    Jpeg,

    /// <summary>WebP: lossy at <see cref="ImageEncoderOptions.Quality"/>, or lossless with <see cref="ImageEncoderOptions.Lossless"/>.</summary>
    Webp,
}

/// <summary>File extensions and <see cref="ImageFormat"/>s.</summary>
public static class ImageFormats
{
    /// <summary>
    /// The format a file's extension names: <c>.png</c>; <c>.jpg</c> or <c>.jpeg</c>; <c>.webp</c> (any letter case).
    /// </summary>
    /// <exception cref="ArgumentException">Any other extension, or none; the message lists the ones understood.</exception>
    public static ImageFormat FromPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var extension = Path.GetExtension(path);
        return extension.ToUpperInvariant() switch
        {
            ".PNG" => ImageFormat.Png,
            ".JPG" or ".JPEG" => ImageFormat.Jpeg,
            ".WEBP" => ImageFormat.Webp,
            _ => throw new ArgumentException(
                (extension.Length == 0 ? $"The path \"{path}\" has no extension" : $"The extension \"{extension}\" of \"{path}\" names no image format this library writes")
                + ": use .png, .jpg, .jpeg or .webp, or pass the format explicitly.",
                nameof(path)),
        };
    }

    /// <summary>The format's name as people write it: PNG, JPEG, WebP.</summary>
    internal static string DisplayName(this ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.Webp => "WebP",
        _ => format.ToString(),
    };

    /// <summary>The usual extension of <paramref name="format"/>, with its dot: <c>.png</c>, <c>.jpg</c>, <c>.webp</c>.</summary>
    public static string Extension(this ImageFormat format) => format switch
    {
        ImageFormat.Png => ".png",
        ImageFormat.Jpeg => ".jpg",
        ImageFormat.Webp => ".webp",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format."),
    };
}
