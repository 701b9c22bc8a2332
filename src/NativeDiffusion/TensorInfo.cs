using System.Collections.Immutable;

namespace NativeDiffusion;

/// <summary>One tensor of a model file, as its header describes it.</summary>
/// <param name="Name">The tensor's name, e.g. <c>model.diffusion_model.input_blocks.0.0.weight</c>.</param>
/// <param name="Dtype">The element type.</param>
/// <param name="Shape">The dimensions, outermost first; empty for a scalar.</param>
/// <param name="ElementCount">The number of elements (the product of <paramref name="Shape"/>).</param>
/// <param name="DataOffset">Absolute offset of the tensor's first byte in the file.</param>
/// <param name="DataSize">Size of the tensor's data in bytes.</param>
public sealed record TensorInfo(
    string Name,
    TensorDataType Dtype,
    ImmutableArray<long> Shape,
    long ElementCount,
    long DataOffset,
    long DataSize)
{
    /// <summary>The shape as text, e.g. <c>[320, 4, 3, 3]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>Whether two descriptions are equal, comparing <see cref="Shape"/> element by element.</summary>
    public bool Equals(TensorInfo? other) =>
        other is not null
        && Name == other.Name
        && Dtype == other.Dtype
        && Shape.AsSpan().SequenceEqual(other.Shape.AsSpan())
        && ElementCount == other.ElementCount
        && DataOffset == other.DataOffset
        && DataSize == other.DataSize;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Dtype, ElementCount, DataOffset, DataSize);

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Dtype.ToFileName()} {ShapeText}";
}

/// <summary>What the tensors of one element type add up to in a file.</summary>
/// <param name="Dtype">The element type.</param>
/// <param name="TensorCount">How many tensors have it.</param>
/// <param name="ElementCount">Their elements, added up.</param>
/// <param name="ByteCount">Their data, in bytes.</param>
public sealed record DtypeTotal(TensorDataType Dtype, int TensorCount, long ElementCount, long ByteCount)
{
    /// <summary>The totals of <paramref name="tensors"/> for each element type present, ordered by type.</summary>
    public static IReadOnlyList<DtypeTotal> Summarize(IEnumerable<TensorInfo> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return
        [
            .. tensors
                .GroupBy(t => t.Dtype)
                .OrderBy(g => g.Key)
                .Select(g => new DtypeTotal(g.Key, g.Count(), g.Sum(t => t.ElementCount), g.Sum(t => t.DataSize))),
        ];
    }
}
