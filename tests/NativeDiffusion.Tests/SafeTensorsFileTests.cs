using System.Buffers.Binary;
using System.Text.Json;

namespace NativeDiffusion.Tests;

public sealed class SafeTensorsFileTests
{
    [Fact]
    public void Tiny_sd1_has_981_tensors_and_11_520_235_parameters()
    {
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        Assert.Equal(981, file.Tensors.Count);
        Assert.Equal(11_520_235, file.ParameterCount);
        Assert.Equal(11_520_312, file.ElementCount);
        Assert.Equal(23_041_086, file.DataSize);
        Assert.Equal(Path.GetFullPath(TestPaths.TinySd1Model), file.Path);
    }

    [Fact]
    public void Totals_by_dtype_count_the_f16_weights_and_the_int64_position_ids()
    {
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        Assert.Equal(
            new[]
            {
                new DtypeTotal(TensorDataType.F16, 980, 11_520_235, 23_040_470),
                new DtypeTotal(TensorDataType.I64, 1, 77, 616),
            },
            file.TotalsByDtype);
        var positionIds = Assert.Single(file.Tensors, t => t.Dtype == TensorDataType.I64);
        Assert.Equal("cond_stage_model.transformer.text_model.embeddings.position_ids", positionIds.Name);
        Assert.Equal(new long[] { 1, 77 }, positionIds.Shape.ToArray());
    }

    [Fact]
    public void Every_tensor_matches_the_header_read_independently()
    {
        var expected = ReadHeader(TestPaths.TinySd1Model);
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        Assert.Equal(expected.Count, file.Tensors.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], file.Tensors[i]);
        }
    }

    [Fact]
    public void Tensors_are_listed_in_the_order_of_their_data()
    {
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        for (var i = 1; i < file.Tensors.Count; i++)
        {
            Assert.Equal(file.Tensors[i - 1].DataOffset + file.Tensors[i - 1].DataSize, file.Tensors[i].DataOffset);
        }

        Assert.Equal(new FileInfo(TestPaths.TinySd1Model).Length, file.Tensors[^1].DataOffset + file.Tensors[^1].DataSize);
    }

    [Fact]
    public void Metadata_holds_the_header_metadata()
    {
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        var entry = Assert.Single(file.Metadata);
        Assert.Equal(new KeyValuePair<string, string>("format", "pt"), entry);
    }

    [Fact]
    public void TryGetTensor_finds_a_tensor_by_its_exact_name()
    {
        using var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);

        Assert.True(file.TryGetTensor("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", out var tensor));
        Assert.Equal(TensorDataType.F16, tensor.Dtype);
        Assert.Equal(new long[] { 77, 128 }, tensor.Shape.ToArray());
        Assert.Equal(77 * 128, tensor.ElementCount);
        Assert.Equal(77 * 128 * 2, tensor.DataSize);
        Assert.False(file.TryGetTensor("no.such.tensor", out _));
    }

    [Fact]
    public void Listing_stays_readable_after_dispose_and_dispose_is_idempotent()
    {
        var file = SafeTensorsFile.Open(TestPaths.TinySd1Model);
        Assert.False(file.IsDisposed);

        file.Dispose();
        file.Dispose();

        Assert.True(file.IsDisposed);
        Assert.Equal(981, file.Tensors.Count);
        Assert.Equal("format", Assert.Single(file.Metadata).Key);
        Assert.Equal(11_520_235, file.ParameterCount);
        Assert.Throws<ObjectDisposedException>(() => file.Handle);
    }

    [Fact]
    public void Many_open_and_dispose_cycles_in_parallel_threads_all_succeed()
    {
        var path = TestPaths.TinySd1Model;
        var failures = 0;

        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var cycle = 0; cycle < 4; cycle++)
            {
                using var file = SafeTensorsFile.Open(path);
                if (file.Tensors.Count != 981 || file.ParameterCount != 11_520_235)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void A_path_with_non_ascii_characters_opens()
    {
        using var temp = new TempFolder("modèle-日本");
        var path = temp.File("modèle ✓ 日本語.safetensors");
        File.Copy(TestPaths.TinySd1Model, path);

        using var file = SafeTensorsFile.Open(path);

        Assert.Equal(path, file.Path);
        Assert.Equal(981, file.Tensors.Count);
        Assert.Equal(11_520_235, file.ParameterCount);
    }

    [Fact]
    public void A_missing_file_fails_with_IoError_naming_the_path()
    {
        using var temp = new TempFolder();
        var missing = temp.File("absent.safetensors");

        var e = Assert.Throws<NativeDiffusionException>(() => SafeTensorsFile.Open(missing));

        Assert.Equal(NativeErrorCode.IoError, e.ErrorCode);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(e.NativeMessage));
    }

    /// <summary>The tensors as the file's JSON header lists them, sorted by data offset.</summary>
    private static List<TensorInfo> ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var dataStart = 8 + headerSize;
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerSize));
        var tensors = new List<TensorInfo>();
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                continue;
            }

            var dtype = property.Value.GetProperty("dtype").GetString()!;
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var type = Enum.GetValues<TensorDataType>().Single(t => t.ToFileName() == dtype);
            tensors.Add(new TensorInfo(
                property.Name,
                type,
                [.. shape],
                shape.Aggregate(1L, (a, b) => a * b),
                dataStart + offsets[0],
                offsets[1] - offsets[0]));
        }

        return [.. tensors.OrderBy(t => t.DataOffset)];
    }
}
