using Microsoft.Extensions.Logging;
using NativeDiffusion.Interop;

namespace NativeDiffusion.Tests;

/// <summary>The public enums are hand-written mirrors of the generated native ones; these keep them equal.</summary>
public sealed class EnumMirrorTests
{
    [Fact]
    public void NativeErrorCode_has_the_names_and_values_of_NdStatus()
    {
        Assert.Equal(Members<NdStatus>(), Members<NativeErrorCode>());
    }

    [Fact]
    public void TensorDataType_mirrors_NdDtype()
    {
        Assert.Equal(Normalized(Members<NdDtype>()), Normalized(Members<TensorDataType>()));
    }

    [Fact]
    public void CpuFeatures_mirror_the_native_cpu_feature_flags()
    {
        Assert.Equal(Normalized(Members<NdCpuFeatureFlags>()), Normalized(Members<CpuFeatures>()));
    }

    [Fact]
    public void Backends_mirror_the_native_backend_flags()
    {
        Assert.Equal(Normalized(Members<NdBackendFlags>()), Normalized(Members<Backends>()));
    }

    [Fact]
    public unsafe void File_names_of_dtypes_are_those_of_the_engine()
    {
        foreach (var dtype in Enum.GetValues<TensorDataType>())
        {
            var native = NativeString.Read(NativeMethods.nd_dtype_name((NdDtype)(int)dtype));
            Assert.Equal(native, dtype.ToFileName());
        }
    }

    [Fact]
    public void Model_enums_mirror_the_native_model_enums()
    {
        Assert.Equal(Normalized(Members<NdPredictionType>()), Normalized(Members<PredictionType>()));
        Assert.Equal(Normalized(Members<NdModelComponentFlags>()), Normalized(Members<ModelComponents>()));
        Assert.Equal(Normalized(Members<NdStage>()), Normalized(Members<GenerationStage>()));
        Assert.Equal(Normalized(Members<NdRng>()), Normalized(Members<NoiseSource>()));

        // The family names read as English here (StableDiffusion1 for SD1); the values are the engine's.
        Assert.Equal(Members<NdModelFamily>().Keys, Members<ModelFamily>().Keys);
        Assert.Equal((int)NdModelFamily.Sd1, (int)ModelFamily.StableDiffusion1);
        Assert.Equal((int)NdModelFamily.Sd2, (int)ModelFamily.StableDiffusion2);
        Assert.Equal((int)NdModelFamily.Sdxl, (int)ModelFamily.StableDiffusionXL);
        Assert.Equal((int)NdModelFamily.SdxlRefiner, (int)ModelFamily.StableDiffusionXLRefiner);
    }

    [Fact]
    public void Every_native_log_level_maps_to_the_same_LogLevel_name()
    {
        Assert.Equal(LogLevel.Trace, NativeContext.ToLogLevel(NdLogLevel.Trace));
        Assert.Equal(LogLevel.Debug, NativeContext.ToLogLevel(NdLogLevel.Debug));
        Assert.Equal(LogLevel.Information, NativeContext.ToLogLevel(NdLogLevel.Info));
        Assert.Equal(LogLevel.Warning, NativeContext.ToLogLevel(NdLogLevel.Warning));
        Assert.Equal(LogLevel.Error, NativeContext.ToLogLevel(NdLogLevel.Error));
        Assert.Equal(LogLevel.None, NativeContext.ToLogLevel(NdLogLevel.None));
        Assert.Equal(6, Enum.GetValues<NdLogLevel>().Length);
    }

    /// <summary>Name and numeric value of each member, by value; a zero "None" of a flags enum is left out.</summary>
    private static SortedDictionary<ulong, string> Members<T>()
        where T : struct, Enum
    {
        var members = new SortedDictionary<ulong, string>();
        foreach (var value in Enum.GetValues<T>())
        {
            var number = Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            var name = value.ToString();
            if (number == 0 && name == "None" && typeof(T).IsDefined(typeof(FlagsAttribute), inherit: false))
            {
                continue;
            }

            members.Add(number, name);
        }

        return members;
    }

    /// <summary>Names compared without case and underscores (<c>F8_E4m3</c> = <c>F8E4M3</c>, <c>Avx512bw</c> = <c>Avx512BW</c>).</summary>
    private static SortedDictionary<ulong, string> Normalized(SortedDictionary<ulong, string> members) =>
        new(members.ToDictionary(m => m.Key, m => m.Value.Replace("_", "", StringComparison.Ordinal).ToUpperInvariant()));
}
