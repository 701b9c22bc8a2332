namespace NativeDiffusion;

/// <summary>How <see cref="DiffusionModel.ConvertAsync"/> writes a GGUF file.</summary>
public sealed record ConvertOptions
{
    /// <summary>
    /// The type for the weights the per-tensor rules convert (see docs/formats.md): F16 (the default), F32, BF16 or a
    /// block-quantized type (Q8_0, Q5_0, Q4_0, Q4_K...); null keeps every weight as stored.
    /// </summary>
    public TensorDataType? WeightType { get; init; } = TensorDataType.F16;

    /// <summary>Keep convolution kernels F16 and 4-D, so that stable-diffusion.cpp reads the file too (it cannot read quantized kernels).</summary>
    public bool Portable { get; init; }

    /// <summary>Checks every property; throws <see cref="ArgumentException"/> naming the first that is out of range.</summary>
    public void Validate()
    {
        if (WeightType is { } type && !type.IsWeightType())
        {
            throw new ArgumentException(
                $"WeightType {type} is not a weight type: use F32, F16, BF16 or a block-quantized type (Q8_0, Q5_0, Q4_0, Q4_K...), or null to keep the stored types.",
                nameof(WeightType));
        }
    }
}

/// <summary>The progress of a conversion.</summary>
/// <param name="TensorsDone">Tensors written so far.</param>
/// <param name="TensorCount">Tensors to write.</param>
/// <param name="Tensor">The one just written.</param>
public sealed record ConvertProgress(long TensorsDone, long TensorCount, string Tensor)
{
    /// <summary>The fraction done, 0 to 1.</summary>
    public double Fraction => TensorCount <= 0 ? 0 : Math.Clamp((double)TensorsDone / TensorCount, 0, 1);
}
