using System.Buffers.Binary;
using System.Text;

namespace NativeDiffusion.Tests;

/// <summary>Malformed files are refused with <see cref="NativeErrorCode.InvalidFormat"/> and a message that says why.</summary>
public sealed class MalformedFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void File_truncated_inside_the_header_is_rejected()
    {
        var path = _temp.File("truncated-header.safetensors");
        WritePrefix(TestPaths.TinySd1Model, path, 4096);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void File_truncated_inside_the_tensor_data_is_rejected()
    {
        var path = _temp.File("truncated-data.safetensors");
        WritePrefix(TestPaths.TinySd1Model, path, new FileInfo(TestPaths.TinySd1Model).Length - 1000);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void File_shorter_than_the_header_size_field_is_rejected()
    {
        var path = _temp.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void Header_that_is_not_json_is_rejected()
    {
        var path = _temp.File("bad-json.safetensors");
        WriteFile(path, "{\"a.weight\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]", dataBytes: 8);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void Header_size_larger_than_the_file_is_rejected()
    {
        var path = _temp.File("huge-header.safetensors");
        WriteFile(path, "{}", dataBytes: 0, declaredHeaderSize: 1UL << 40);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void Unknown_dtype_is_rejected_and_named()
    {
        var path = _temp.File("bad-dtype.safetensors");
        WriteFile(path, "{\"a.weight\": {\"dtype\": \"F17\", \"shape\": [2], \"data_offsets\": [0, 8]}}", dataBytes: 8);

        var e = AssertInvalidFormat(path);
        Assert.Contains("F17", e.NativeMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_offsets_that_disagree_with_the_shape_are_rejected()
    {
        var path = _temp.File("bad-size.safetensors");
        WriteFile(path, "{\"a.weight\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", dataBytes: 8);

        AssertInvalidFormat(path);
    }

    [Fact]
    public void A_valid_handmade_file_opens()
    {
        var path = _temp.File("valid.safetensors");
        WriteFile(
            path,
            "{\"__metadata__\": {\"k\": \"v\"}, \"b\": {\"dtype\": \"I32\", \"shape\": [], \"data_offsets\": [8, 12]}, " +
            "\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
            dataBytes: 12);

        using var file = SafeTensorsFile.Open(path);

        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
        Assert.Empty(file.Tensors[1].Shape);
        Assert.Equal(1, file.Tensors[1].ElementCount);
        Assert.Equal(2, file.ParameterCount);
        Assert.Equal("v", file.Metadata["k"]);
    }

    private static NativeDiffusionException AssertInvalidFormat(string path)
    {
        var e = Assert.Throws<NativeDiffusionException>(() => SafeTensorsFile.Open(path));
        Assert.Equal(NativeErrorCode.InvalidFormat, e.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(e.NativeMessage), "the engine should say what is wrong");
        Assert.Contains(e.NativeMessage, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    private static void WritePrefix(string source, string destination, long length)
    {
        using var input = File.OpenRead(source);
        using var output = File.Create(destination);
        var buffer = new byte[length];
        input.ReadExactly(buffer);
        output.Write(buffer);
    }

    private static void WriteFile(string path, string header, int dataBytes, ulong? declaredHeaderSize = null)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var size = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, declaredHeaderSize ?? (ulong)headerBytes.Length);
        using var output = File.Create(path);
        output.Write(size);
        output.Write(headerBytes);
        output.Write(new byte[dataBytes]);
    }
}
