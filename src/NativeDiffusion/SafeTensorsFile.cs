using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NativeDiffusion.Interop;

namespace NativeDiffusion;

/// <summary>
/// An open <c>.safetensors</c> model file: its header validated by the engine, its data memory-mapped until
/// <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Everything the header says (<see cref="Tensors"/>, <see cref="Metadata"/>, the totals) is copied into managed
/// objects when the file is opened, so it stays readable after <see cref="Dispose"/>. The instance is thread-safe.
/// </remarks>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private readonly NdSafetensorsHandle _handle;
    private readonly FrozenDictionary<string, TensorInfo> _tensorsByName;

    private SafeTensorsFile(
        string path,
        NdSafetensorsHandle handle,
        ImmutableArray<TensorInfo> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        Tensors = tensors;
        Metadata = metadata;
        _tensorsByName = tensors.DistinctBy(t => t.Name, StringComparer.Ordinal)
            .ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);

        TotalsByDtype = DtypeTotal.Summarize(tensors);
        ElementCount = tensors.Sum(t => t.ElementCount);
        ParameterCount = tensors.Where(t => t.Dtype.IsFloatingPoint()).Sum(t => t.ElementCount);
        DataSize = tensors.Sum(t => t.DataSize);
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>The tensors, in the order their data lies in the file.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The header's <c>__metadata__</c> entries (string to string), sorted by key.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor count, elements and bytes for each element type present, ordered by type.</summary>
    public IReadOnlyList<DtypeTotal> TotalsByDtype { get; }

    /// <summary>
    /// The number of parameters: elements of floating-point tensors. Integer and boolean tensors (such as CLIP's
    /// <c>position_ids</c>) are buffers, not parameters; <see cref="ElementCount"/> counts them too.
    /// </summary>
    public long ParameterCount { get; }

    /// <summary>The elements of all tensors, whatever their type.</summary>
    public long ElementCount { get; }

    /// <summary>The bytes of all tensors' data.</summary>
    public long DataSize { get; }

    /// <summary>Whether <see cref="Dispose"/> has been called (the listing stays readable).</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>The native handle, for operations that read tensor data.</summary>
    /// <exception cref="ObjectDisposedException">The file has been disposed.</exception>
    internal NdSafetensorsHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    /// <summary>
    /// Opens a <c>.safetensors</c> file and reads its header. The engine validates the whole header (offsets, sizes,
    /// shapes, dtypes) before this returns.
    /// </summary>
    /// <param name="path">The file's path (any characters; passed to the engine as UTF-8).</param>
    /// <param name="logger">Receives the engine's log messages while the file is opened, and the library's own; for a
    /// category of its own create it with <see cref="NativeDiffusionLibrary.NativeLogCategory"/>.</param>
    /// <returns>The open file; dispose it to unmap the data.</returns>
    /// <exception cref="NativeDiffusionException">The file could not be read (<see cref="NativeErrorCode.IoError"/>) or is
    /// malformed (<see cref="NativeErrorCode.InvalidFormat"/>); the message says why.</exception>
    /// <exception cref="NativeLibraryNotFoundException">The native library could not be loaded.</exception>
    public static SafeTensorsFile Open(string path, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        NativeLibraryLoader.EnsureLoaded();
        var fullPath = System.IO.Path.GetFullPath(path);

        NdSafetensorsHandle handle;
        using (var context = NativeContext.Create(logger))
        {
            var status = NativeMethods.nd_safetensors_open(context.Handle, fullPath, out handle);
            try
            {
                status.ThrowIfFailed($"opening '{fullPath}'");
                context.ThrowIfLoggingFailed();
            }
            catch (NativeDiffusionException e)
            {
                handle.Dispose();
                if (logger is not null)
                {
                    NativeLog.SafeTensorsOpenFailed(logger, fullPath, e.ErrorCode);
                }

                throw;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        try
        {
            var file = new SafeTensorsFile(fullPath, handle, ReadTensors(handle), ReadMetadata(handle));
            if (logger is not null)
            {
                NativeLog.SafeTensorsOpened(logger, fullPath, file.Tensors.Count, file.ParameterCount, file.Metadata.Count);
            }

            return file;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Finds a tensor by its exact name.</summary>
    public bool TryGetTensor(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TensorInfo? tensor) =>
        _tensorsByName.TryGetValue(name, out tensor);

    /// <summary>Unmaps the file. Idempotent; <see cref="Tensors"/> and <see cref="Metadata"/> stay readable.</summary>
    public void Dispose() => _handle.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Tensors.Count} tensors, {ParameterCount:N0} parameters)";

    private static ImmutableArray<TensorInfo> ReadTensors(NdSafetensorsHandle handle)
    {
        var count = checked((int)NativeMethods.nd_safetensors_tensor_count(handle));
        var tensors = ImmutableArray.CreateBuilder<TensorInfo>(count);
        for (var i = 0; i < count; i++)
        {
            var info = default(NdTensorInfo);
            info.StructSize = (uint)sizeof(NdTensorInfo);
            NativeMethods.nd_safetensors_tensor(handle, (nuint)i, &info).ThrowIfFailed($"reading tensor {i}");

            var shape = new long[info.NDims];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = info.Shape[d];
            }

            tensors.Add(new TensorInfo(
                NativeString.Read(info.Name),
                (TensorDataType)(int)info.Dtype,
                ImmutableCollectionsMarshal.AsImmutableArray(shape),
                checked((long)info.NElements),
                checked((long)info.DataOffset),
                checked((long)info.DataSize)));
        }

        return tensors.MoveToImmutable();
    }

    private static IReadOnlyDictionary<string, string> ReadMetadata(NdSafetensorsHandle handle)
    {
        var count = checked((int)NativeMethods.nd_safetensors_metadata_count(handle));
        var metadata = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            byte* key;
            byte* value;
            NativeMethods.nd_safetensors_metadata(handle, (nuint)i, &key, &value).ThrowIfFailed($"reading metadata entry {i}");
            metadata[NativeString.Read(key)] = NativeString.Read(value);
        }

        return metadata.ToImmutable();
    }
}
