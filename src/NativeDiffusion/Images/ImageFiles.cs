namespace NativeDiffusion.Images;

/// <summary>Reading image files and streams with a size limit, and naming the file in decoding errors.</summary>
internal static class ImageFiles
{
    /// <summary>The bytes of <paramref name="path"/>, refusing a file larger than <paramref name="maxBytes"/> before reading it.</summary>
    public static async Task<byte[]> ReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var length = new FileInfo(path).Length; // FileNotFoundException for a missing file, naming it
        if (length > maxBytes)
        {
            throw new InvalidDataException($"The image file \"{path}\" is {length} bytes, more than the limit of {maxBytes}.");
        }

        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>All of <paramref name="stream"/>, refusing more than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]> ReadAsync(Stream stream, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new InvalidDataException($"The image stream holds more than the limit of {maxBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Runs <paramref name="decode"/>, adding the file's path to the message of an <see cref="InvalidDataException"/>.</summary>
    public static T NameFileOnError<T>(string path, Func<T> decode)
    {
        try
        {
            return decode();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
