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
}

/// <summary>Helpers for <see cref="TensorDataType"/>.</summary>
public static class TensorDataTypeExtensions
{
    /// <summary>The name as .safetensors headers spell it: <c>F16</c>, <c>BF16</c>, <c>F8_E4M3</c>, <c>BOOL</c>...</summary>
    public static string ToSafetensorsName(this TensorDataType dtype) => dtype switch
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
        _ => "?",
    };

    /// <summary>
    /// Whether the type is a floating-point type. Elements of floating-point tensors are what
    /// <see cref="SafeTensorsFile.ParameterCount"/> counts; integer and boolean tensors are buffers (token positions, masks).
    /// </summary>
    public static bool IsFloatingPoint(this TensorDataType dtype) =>
        dtype is TensorDataType.F32 or TensorDataType.F16 or TensorDataType.BF16 or TensorDataType.F64
            or TensorDataType.F8E4M3 or TensorDataType.F8E5M2;

    /// <summary>Bytes per element.</summary>
    public static int SizeInBytes(this TensorDataType dtype) => dtype switch
    {
        TensorDataType.F64 or TensorDataType.I64 or TensorDataType.U64 => 8,
        TensorDataType.F32 or TensorDataType.I32 or TensorDataType.U32 => 4,
        TensorDataType.F16 or TensorDataType.BF16 or TensorDataType.I16 or TensorDataType.U16 => 2,
        TensorDataType.F8E4M3 or TensorDataType.F8E5M2 or TensorDataType.I8 or TensorDataType.U8 or TensorDataType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown tensor data type."),
    };
}
