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

/// <summary>
/// What <c>nd bench --json</c> prints: the settings, the machine's load, and the stage times in seconds (means over the
/// runs). <c>threads</c> 0 is the engine's default (one per physical core). <c>firstStepSeconds</c> is the first sampling
/// step of the first run, which packs the weights for the kernels; <c>stepSecondsMean</c>/<c>Min</c> cover every later
/// step (null with one step and one run). The <c>...CpuSeconds</c> figures are process CPU time, all threads, over the
/// same span: on a machine shared with other work they are steadier than wall time. <c>totalSeconds</c> is load plus every run, wall clock.
/// </summary>
internal sealed record BenchReport(
    string Model,
    string? WeightType,
    int Width,
    int Height,
    int Steps,
    double CfgScale,
    string Sampler,
    int Threads,
    int Runs,
    int LogicalCores,
    IReadOnlyList<double>? LoadAverage,
    double LoadSeconds,
    double TextEncoderSeconds,
    double TextEncoderCpuSeconds,
    double? FirstStepSeconds,
    double? FirstStepCpuSeconds,
    double? StepSecondsMean,
    double? StepSecondsMin,
    double? StepCpuSecondsMean,
    double SamplingSeconds,
    double SamplingCpuSeconds,
    double DecodeSeconds,
    double DecodeCpuSeconds,
    double TotalSeconds,
    long? ResidentAfterLoadBytes,
    long? PeakResidentBytes,
    string PeakResidentSource,
    IReadOnlyList<BenchRunReport> RunDetails);

/// <summary>One generation of <c>nd bench</c>: stage times and the process CPU time they took (seconds).</summary>
internal sealed record BenchRunReport(
    double TextEncoderSeconds,
    double TextEncoderCpuSeconds,
    IReadOnlyList<double> StepSeconds,
    IReadOnlyList<double> StepCpuSeconds,
    double SamplingSeconds,
    double SamplingCpuSeconds,
    double DecodeSeconds,
    double DecodeCpuSeconds,
    double Seconds);

internal sealed record DtypeReport(string Dtype, int TensorCount, long ElementCount, long ByteCount);

internal sealed record TensorReport(string Name, string Dtype, IReadOnlyList<long> Shape, long ElementCount, long DataOffset, long DataSize);

/// <summary>Source-generated JSON metadata for the reports (no reflection, trimming- and AOT-safe).</summary>
[JsonSerializable(typeof(InfoReport))]
[JsonSerializable(typeof(InspectReport))]
[JsonSerializable(typeof(GenerateReport))]
[JsonSerializable(typeof(BenchReport))]
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
