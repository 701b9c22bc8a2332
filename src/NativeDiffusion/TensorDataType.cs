namespace NativeDiffusion;

/// <summary>Element type of a tensor in a model file (mirrors <c>nd_dtype</c>, value for value).</summary>
public enum TensorDataType
{
    /// <summary>32-bit IEEE float (<c>F32</c>).</summary>
    F32 = 0,

    /// <summary>16-bit IEEE float (<c>F16</c>).</summary>
    F16 = 1,

    /// <summary>bfloat16 (<c>BF16</c>).</summary>
    BF16 = 2,

    /// <summary>64-bit IEEE float (<c>F64</c>).</summary>
    F64 = 3,

    /// <summary>8-bit float, 4 exponent and 3 mantissa bits (<c>F8_E4M3</c>).</summary>
    F8E4M3 = 4,

    /// <summary>8-bit float, 5 exponent and 2 mantissa bits (<c>F8_E5M2</c>).</summary>
    F8E5M2 = 5,

    /// <summary>Signed 8-bit integer (<c>I8</c>).</summary>
    I8 = 6,

    /// <summary>Signed 16-bit integer (<c>I16</c>).</summary>
    I16 = 7,

    /// <summary>Signed 32-bit integer (<c>I32</c>).</summary>
    I32 = 8,

    /// <summary>Signed 64-bit integer (<c>I64</c>).</summary>
    I64 = 9,

    /// <summary>Unsigned 8-bit integer (<c>U8</c>).</summary>
    U8 = 10,

    /// <summary>Unsigned 16-bit integer (<c>U16</c>).</summary>
    U16 = 11,

    /// <summary>Unsigned 32-bit integer (<c>U32</c>).</summary>
    U32 = 12,

    /// <summary>Unsigned 64-bit integer (<c>U64</c>).</summary>
    U64 = 13,

    /// <summary>Boolean, one byte (<c>BOOL</c>).</summary>
    Bool = 14,

    /// <summary>GGML block-quantized: 8-bit, blocks of 32 with an f16 scale (<c>Q8_0</c>).</summary>
    Q8_0 = 15,

    /// <summary>GGML block-quantized: 4-bit, blocks of 32 with an f16 scale (<c>Q4_0</c>).</summary>
    Q4_0 = 16,

    /// <summary>GGML block-quantized: 4-bit, blocks of 32 with an f16 scale and minimum (<c>Q4_1</c>).</summary>
    Q4_1 = 17,

    /// <summary>GGML block-quantized: 5-bit, blocks of 32 with an f16 scale (<c>Q5_0</c>).</summary>
    Q5_0 = 18,

    /// <summary>GGML block-quantized: 5-bit, blocks of 32 with an f16 scale and minimum (<c>Q5_1</c>).</summary>
    Q5_1 = 19,

    /// <summary>GGML block-quantized: 2-bit K-quant, super-blocks of 256 (<c>Q2_K</c>).</summary>
    Q2_K = 20,

    /// <summary>GGML block-quantized: 3-bit K-quant, super-blocks of 256 (<c>Q3_K</c>).</summary>
    Q3_K = 21,

    /// <summary>GGML block-quantized: 4-bit K-quant, super-blocks of 256 (<c>Q4_K</c>).</summary>
    Q4_K = 22,

    /// <summary>GGML block-quantized: 5-bit K-quant, super-blocks of 256 (<c>Q5_K</c>).</summary>
    Q5_K = 23,

    /// <summary>GGML block-quantized: 6-bit K-quant, super-blocks of 256 (<c>Q6_K</c>).</summary>
    Q6_K = 24,

    /// <summary>GGML block-quantized: 8-bit K-quant with block sums, super-blocks of 256 (activations of K-quant dot products) (<c>Q8_K</c>).</summary>
    Q8_K = 25,
}

/// <summary>Helpers for <see cref="TensorDataType"/>.</summary>
public static class TensorDataTypeExtensions
{
    /// <summary>The name as model files spell it: <c>F16</c>, <c>BF16</c>, <c>F8_E4M3</c>, <c>BOOL</c>, <c>Q4_K</c>...</summary>
    public static string ToFileName(this TensorDataType dtype) => dtype switch
    {
        TensorDataType.F32 => "F32",
        TensorDataType.F16 => "F16",
        TensorDataType.BF16 => "BF16",
        TensorDataType.F64 => "F64",
        TensorDataType.F8E4M3 => "F8_E4M3",
        TensorDataType.F8E5M2 => "F8_E5M2",
        TensorDataType.I8 => "I8",
        TensorDataType.I16 => "I16",
        TensorDataType.I32 => "I32",
        TensorDataType.I64 => "I64",
        TensorDataType.U8 => "U8",
        TensorDataType.U16 => "U16",
        TensorDataType.U32 => "U32",
        TensorDataType.U64 => "U64",
        TensorDataType.Bool => "BOOL",
        TensorDataType.Q8_0 => "Q8_0",
        TensorDataType.Q4_0 => "Q4_0",
        TensorDataType.Q4_1 => "Q4_1",
        TensorDataType.Q5_0 => "Q5_0",
        TensorDataType.Q5_1 => "Q5_1",
        TensorDataType.Q2_K => "Q2_K",
        TensorDataType.Q3_K => "Q3_K",
        TensorDataType.Q4_K => "Q4_K",
        TensorDataType.Q5_K => "Q5_K",
        TensorDataType.Q6_K => "Q6_K",
        TensorDataType.Q8_K => "Q8_K",
        _ => "?",
    };

    /// <summary>
    /// Whether the type holds real numbers: a floating-point or a block-quantized type. Elements of such tensors are what
    /// <see cref="SafeTensorsFile.ParameterCount"/> counts; integer and boolean tensors are buffers (token positions, masks).
    /// </summary>
    public static bool IsFloatingPoint(this TensorDataType dtype) =>
        dtype is TensorDataType.F32 or TensorDataType.F16 or TensorDataType.BF16 or TensorDataType.F64
            or TensorDataType.F8E4M3 or TensorDataType.F8E5M2 || dtype.IsQuantized();

    /// <summary>
    /// Whether weights can be converted to the type, by <see cref="ModelLoadOptions.WeightType"/> or
    /// <see cref="DiffusionModel.ConvertAsync"/>: F32, F16, BF16 and the block-quantized types but Q8_K (an activation format).
    /// </summary>
    public static bool IsWeightType(this TensorDataType dtype) =>
        dtype is TensorDataType.F32 or TensorDataType.F16 or TensorDataType.BF16 || (dtype.IsQuantized() && dtype != TensorDataType.Q8_K);

    /// <summary>Whether the type is one of the GGML block-quantized formats (<c>Q8_0</c> ... <c>Q8_K</c>).</summary>
    public static bool IsQuantized(this TensorDataType dtype) => dtype is >= TensorDataType.Q8_0 and <= TensorDataType.Q8_K;

    /// <summary>Bytes per element of a plain type; block-quantized types have no per-element size.</summary>
    public static int SizeInBytes(this TensorDataType dtype) => dtype switch
    {
        TensorDataType.F64 or TensorDataType.I64 or TensorDataType.U64 => 8,
        TensorDataType.F32 or TensorDataType.I32 or TensorDataType.U32 => 4,
        TensorDataType.F16 or TensorDataType.BF16 or TensorDataType.I16 or TensorDataType.U16 => 2,
        TensorDataType.F8E4M3 or TensorDataType.F8E5M2 or TensorDataType.I8 or TensorDataType.U8 or TensorDataType.Bool => 1,
        _ when dtype.IsQuantized() => throw new ArgumentOutOfRangeException(
            nameof(dtype), dtype, "Block-quantized types store blocks of 32 or 256 elements, not single elements."),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown tensor data type."),
    };
}
