using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace NativeDiffusion.Images;

/// <summary>
/// Reads the chunk structure of a PNG file and reads or inserts its text chunks (<c>tEXt</c>, <c>zTXt</c>, <c>iTXt</c>),
/// which SkiaSharp's encoder cannot write. The web UI keeps its generation settings in a text chunk with the keyword
/// <c>parameters</c>.
/// </summary>
internal static class PngChunks
{
    /// <summary>The eight bytes every PNG file starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // A text chunk larger than this (after decompression) is not read: settings are a few kilobytes, and a
    // compressed chunk must not be able to inflate into gigabytes.
    private const int MaxTextBytes = 16 * 1024 * 1024;

    /// <summary>One chunk: its four-letter type, where its data starts, how long it is, and whether its CRC matches.</summary>
    public readonly record struct Chunk(string Type, int DataOffset, int Length, bool CrcValid);

    /// <summary>Whether <paramref name="data"/> starts with the PNG signature.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>
    /// The chunks of <paramref name="png"/>, in file order, up to and including <c>IEND</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">No PNG signature, a chunk that runs past the end of the data, a first chunk
    /// other than <c>IHDR</c>, or no <c>IEND</c>; the message names the offset.</exception>
    public static List<Chunk> Read(ReadOnlySpan<byte> png)
    {
        var chunks = ReadUntilError(png, out var error);
        return error is null ? chunks : throw new InvalidDataException(error);
    }

    // The chunks up to the first structural error, and that error's description (null when the file is well formed).
    private static List<Chunk> ReadUntilError(ReadOnlySpan<byte> png, out string? error)
    {
        var chunks = new List<Chunk>();
        if (!HasSignature(png))
        {
            error = "Not a PNG file: the data does not start with the PNG signature.";
            return chunks;
        }

        var offset = Signature.Length;
        while (true)
        {
            if (png.Length - offset < 12)
            {
                error = $"The PNG data ends at offset {png.Length} inside the chunk header that starts at offset {offset} (truncated file?).";
                return chunks;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(png[offset..]);
            var type = png.Slice(offset + 4, 4);
            if (!IsChunkType(type))
            {
                error = $"The PNG chunk at offset {offset} has an invalid type (bytes {Convert.ToHexString(type)}).";
                return chunks;
            }

            var typeName = Encoding.ASCII.GetString(type);
            if (length > int.MaxValue || length > (uint)(png.Length - offset - 12))
            {
                error = $"The PNG chunk {typeName} at offset {offset} declares {length} bytes of data, more than the {png.Length - offset - 12} left in the file (truncated file?).";
                return chunks;
            }

            if (chunks.Count == 0 && typeName != "IHDR")
            {
                error = $"The first PNG chunk is {typeName}, not IHDR.";
                return chunks;
            }

            var dataOffset = offset + 8;
            var crcStored = BinaryPrimitives.ReadUInt32BigEndian(png[(dataOffset + (int)length)..]);
            var crcActual = Crc32.Compute(png.Slice(offset + 4, 4 + (int)length));
            chunks.Add(new Chunk(typeName, dataOffset, (int)length, crcStored == crcActual));

            offset = dataOffset + (int)length + 4;
            if (typeName == "IEND")
            {
                error = null;
                return chunks;
            }
        }
    }

    /// <summary>
    /// A copy of <paramref name="png"/> with a text chunk for <paramref name="keyword"/> right after <c>IHDR</c>: a
    /// <c>tEXt</c> chunk when <paramref name="text"/> is Latin-1, else an uncompressed <c>iTXt</c> chunk in UTF-8 (the
    /// choice the web UI's image library makes).
    /// </summary>
    /// <exception cref="ArgumentException">A keyword that is not 1 to 79 printable Latin-1 characters, or text with a NUL character.</exception>
    /// <exception cref="InvalidDataException"><paramref name="png"/> is not a well-formed PNG.</exception>
    public static byte[] InsertText(ReadOnlySpan<byte> png, string keyword, string text)
    {
        var chunk = BuildTextChunk(keyword, text);
        var header = Read(png)[0];
        var insertAt = header.DataOffset + header.Length + 4;

        var result = new byte[png.Length + chunk.Length];
        png[..insertAt].CopyTo(result);
        chunk.CopyTo(result.AsSpan(insertAt));
        png[insertAt..].CopyTo(result.AsSpan(insertAt + chunk.Length));
        return result;
    }

    /// <summary>
    /// The text of the first <c>tEXt</c>, <c>zTXt</c> or <c>iTXt</c> chunk with keyword <paramref name="keyword"/>, or
    /// null when there is none. Chunks whose CRC does not match, or that are malformed, are skipped (as PNG readers
    /// treat damaged ancillary chunks).
    /// </summary>
    /// <exception cref="InvalidDataException"><paramref name="png"/> is not a well-formed PNG.</exception>
    public static string? FindText(ReadOnlySpan<byte> png, string keyword) => FindText(png, Read(png), keyword);

    /// <summary>
    /// As <see cref="FindText(ReadOnlySpan{byte}, string)"/>, but looking only in the chunks before a structural error
    /// instead of throwing: for the metadata of an image a decoder has already accepted (a PNG cut after its last image
    /// row still decodes, but has no <c>IEND</c>).
    /// </summary>
    public static string? TryFindText(ReadOnlySpan<byte> png, string keyword) => FindText(png, ReadUntilError(png, out _), keyword);

    private static string? FindText(ReadOnlySpan<byte> png, List<Chunk> chunks, string keyword)
    {
        foreach (var chunk in chunks)
        {
            if (!chunk.CrcValid || chunk.Type is not ("tEXt" or "zTXt" or "iTXt"))
            {
                continue;
            }

            var text = TryDecodeText(chunk.Type, png.Slice(chunk.DataOffset, chunk.Length), keyword);
            if (text is not null)
            {
                return text;
            }
        }

        return null;
    }

    /// <summary>A complete chunk (length, type, data, CRC) holding <paramref name="keyword"/> and <paramref name="text"/>.</summary>
    public static byte[] BuildTextChunk(string keyword, string text)
    {
        ValidateKeyword(keyword);
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("PNG text cannot contain a NUL character.", nameof(text));
        }

        var latin1 = text.All(c => c <= '\u00FF');
        byte[] data;
        string type;
        if (latin1)
        {
            type = "tEXt";
            data = [.. Encoding.Latin1.GetBytes(keyword), 0, .. Encoding.Latin1.GetBytes(text)];
        }
        else
        {
            // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text.
            type = "iTXt";
            data = [.. Encoding.Latin1.GetBytes(keyword), 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(text)];
        }

        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4, 4));
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    private static void ValidateKeyword(string keyword)
    {
        ArgumentNullException.ThrowIfNull(keyword);
        if (keyword.Length is < 1 or > 79 || keyword.Any(c => c is < ' ' or > '\u00FF' or (> '~' and < '\u00A1')))
        {
            throw new ArgumentException($"A PNG text keyword must be 1 to 79 printable Latin-1 characters, not \"{keyword}\".", nameof(keyword));
        }
    }

    private static bool IsChunkType(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
        {
            if (b is not ((>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z')))
            {
                return false;
            }
        }

        return true;
    }

    private static string? TryDecodeText(string type, ReadOnlySpan<byte> data, string keyword)
    {
        var nul = data.IndexOf((byte)0);
        if (nul < 1 || Encoding.Latin1.GetString(data[..nul]) != keyword)
        {
            return null;
        }

        var rest = data[(nul + 1)..];
        try
        {
            switch (type)
            {
                case "tEXt":
                    return Encoding.Latin1.GetString(rest);
                case "zTXt":
                    return rest.Length >= 1 && rest[0] == 0 ? Encoding.Latin1.GetString(Inflate(rest[1..])) : null;
                default: // iTXt
                    if (rest.Length < 2 || rest[1] != 0)
                    {
                        return null;
                    }

                    var compressed = rest[0] == 1;
                    rest = rest[2..];
                    for (var skip = 0; skip < 2; skip++) // language tag, translated keyword
                    {
                        var end = rest.IndexOf((byte)0);
                        if (end < 0)
                        {
                            return null;
                        }

                        rest = rest[(end + 1)..];
                    }

                    return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(compressed ? Inflate(rest) : rest);
            }
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException)
        {
            return null;
        }
    }

    private static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = zlib.Read(buffer)) > 0)
        {
            if (output.Length + read > MaxTextBytes)
            {
                throw new InvalidDataException($"A compressed PNG text chunk inflates to more than {MaxTextBytes} bytes.");
            }

            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }
}
