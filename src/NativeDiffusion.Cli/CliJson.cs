using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NativeDiffusion.Cli;

/// <summary>What <c>nd info --json</c> prints.</summary>
internal sealed record InfoReport(
    string Version,
    uint AbiVersion,
    string? LibraryPath,
    BuildReport Build,
    SystemReport System,
    RuntimeReport Runtime);

internal sealed record BuildReport(string Compiler, string BuildType, string CxxFlags, IReadOnlyList<string> Backends);

internal sealed record SystemReport(
    string CpuName,
    IReadOnlyList<string> CpuFeatures,
    int PhysicalCores,
    int LogicalCores,
    long TotalMemoryBytes,
    long AvailableMemoryBytes);

internal sealed record RuntimeReport(string Framework, string RuntimeIdentifier);

/// <summary>What <c>nd inspect --json</c> prints.</summary>
internal sealed record InspectReport(
    string Path,
    int TensorCount,
    long ParameterCount,
    long ElementCount,
    long DataSize,
    Dictionary<string, string> Metadata,
    string? Filter,
    int MatchingTensorCount,
    IReadOnlyList<DtypeReport> TotalsByDtype,
    IReadOnlyList<TensorReport> Tensors,
    ModelReport? Model,
    string? ModelError);

/// <summary>What the engine recognised in a model (part of <c>nd inspect --json</c>).</summary>
internal sealed record ModelReport(
    string Family,
    string Layout,
    string Prediction,
    string PredictionSource,
    IReadOnlyList<string> Components,
    string TokenizerSource,
    long TensorCount,
    long WeightBytes,
    IReadOnlyList<DtypeReport> TotalsByDtype);

/// <summary>What <c>nd generate --json</c> prints.</summary>
internal sealed record GenerateReport(string Model, string Parameters, double Seconds, IReadOnlyList<GeneratedImageReport> Images);

internal sealed record GeneratedImageReport(string Path, long Seed, int Width, int Height);

internal sealed record DtypeReport(string Dtype, int TensorCount, long ElementCount, long ByteCount);

internal sealed record TensorReport(string Name, string Dtype, IReadOnlyList<long> Shape, long ElementCount, long DataOffset, long DataSize);

/// <summary>Source-generated JSON metadata for the reports (no reflection, trimming- and AOT-safe).</summary>
[JsonSerializable(typeof(InfoReport))]
[JsonSerializable(typeof(InspectReport))]
[JsonSerializable(typeof(GenerateReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>Indented camelCase JSON that keeps non-ASCII characters readable.</summary>
    public static CliJsonContext Output { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
