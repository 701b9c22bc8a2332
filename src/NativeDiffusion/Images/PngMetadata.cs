namespace NativeDiffusion.Images;

/// <summary>
/// The generation settings a PNG carries, read without decoding its pixels: the web UI (and this library) keep them as
/// infotext in a text chunk with the keyword <c>parameters</c>.
/// </summary>
public static class PngMetadata
{
    /// <summary>The keyword of the text chunk that holds the infotext.</summary>
    public const string ParametersKeyword = "parameters";

    /// <summary>
    /// The text of <paramref name="png"/>'s first <c>tEXt</c>, <c>zTXt</c> or <c>iTXt</c> chunk with keyword
    /// <paramref name="keyword"/>; null when there is none. Chunks with a wrong CRC are skipped.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a PNG, or its chunk structure is broken; the message names the offset.</exception>
    public static string? ReadText(ReadOnlySpan<byte> png, string keyword = ParametersKeyword)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyword);
        return PngChunks.FindText(png, keyword);
    }

    /// <summary>The infotext in <paramref name="png"/> read as settings; null when there is none or it is not in the web UI's format.</summary>
    /// <exception cref="InvalidDataException">Not a PNG, or its chunk structure is broken.</exception>
    public static GenerationSettings? ReadSettings(ReadOnlySpan<byte> png) =>
        GenerationSettings.TryParseInfotext(ReadText(png), out var settings) ? settings : null;

    /// <summary>The settings in the PNG file at <paramref name="path"/> (see <see cref="ReadSettings(ReadOnlySpan{byte})"/>).</summary>
    /// <exception cref="InvalidDataException">Not a PNG, or its chunk structure is broken; the message names the file.</exception>
    public static async Task<GenerationSettings?> ReadSettingsAsync(string path, CancellationToken cancellationToken = default)
    {
        var data = await ImageFiles.ReadAsync(path, InputImageOptions.DefaultMaxEncodedBytes, cancellationToken).ConfigureAwait(false);
        return ImageFiles.NameFileOnError(path, () => ReadSettings(data));
    }
}
