namespace NativeDiffusion.Images;

/// <summary>
/// Writes a file so that it either appears complete or not at all: the content goes to a temporary file in the same
/// folder, is flushed to disk, then replaces the target by a rename. A failure or cancellation deletes the temporary
/// file and leaves an existing target untouched.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The prefix of temporary files, so that they are recognisable (and hidden on Unix).</summary>
    public const string TempPrefix = ".nd-";

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"\"{path}\" names no file.", nameof(path));
        var temp = Path.Combine(folder, $"{TempPrefix}{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");

        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
            });
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
